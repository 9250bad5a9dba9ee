"""test_install.py -- the install steps of docs/python.md, run exactly as written (the
lines between its `install-steps` marker and the end of that code block), in a copy
of the repository's layout: bindings/python copied, build/ the build under test.
No network (PIP_NO_INDEX), no TEXTDIFF_LIB: the installed package must find its
library on its own, from any directory."""
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def documented_steps():
    with open(os.path.join(REPO, 'docs', 'python.md'), encoding='utf-8') as f:
        text = f.read()
    block = text[text.index('<!-- install-steps'):]
    block = block[block.index('```sh\n') + 6:]
    return [line for line in block[:block.index('```')].splitlines() if line.strip()]


def build_dir():
    lib = os.environ.get('TEXTDIFF_LIB')
    if lib:  # <build>/lib/libtextdiff.so -> <build>
        return os.path.dirname(os.path.dirname(os.path.abspath(lib)))
    return os.path.join(REPO, 'build')


def test_documented_install_works_offline_without_environment(tmp_path):
    if not os.path.exists('/usr/bin/python3'):
        pytest.skip('the documented steps use Debian\'s /usr/bin/python3')
    steps = documented_steps()
    assert steps[0].startswith('meson setup build') and len(steps) == 4, steps
    repo = tmp_path / 'repo'
    shutil.copytree(os.path.join(REPO, 'bindings', 'python'), repo / 'bindings' / 'python',
                    ignore=shutil.ignore_patterns('__pycache__', 'build', '*.egg-info', 'tests'))
    os.symlink(build_dir(), repo / 'build')  # the build step's result: the library under test
    env = {k: v for k, v in os.environ.items() if not k.startswith('PIP_') and k != 'TEXTDIFF_LIB'}
    env.update(PIP_NO_INDEX='1', PIP_DISABLE_PIP_VERSION_CHECK='1')
    out = ''
    for line in steps[1:]:  # the build itself is the one under test
        r = subprocess.run(['bash', '-c', line], cwd=str(repo), env=env, capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, '%s\n%s%s' % (line, r.stdout, r.stderr)
        out = r.stdout
    version, where = out.split()
    assert version.count('.') == 2
    assert where == str(repo / '.venv' / 'lib' / ('python%d.%d' % sys.version_info[:2]) / 'site-packages' /
                        'textdiff' / 'libtextdiff.so.0')
    # the installed package, from another directory, still needs nothing
    r = subprocess.run([str(repo / '.venv' / 'bin' / 'python'), '-c', 'import textdiff; print(textdiff.isa())'],
                       cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
