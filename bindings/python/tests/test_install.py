"""test_install.py -- `pip install` of the binding works offline (no index, no isolated
build environment to download) and the installed package finds the library."""
import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from conftest import REPO


def test_pip_installs_the_package_offline(tmp_path):
    for mod in ('pip', 'setuptools'):
        if importlib.util.find_spec(mod) is None:
            pytest.fail('%s is missing for %s (Debian: python3-pip, python3-setuptools)' % (mod, sys.executable))
    src = os.path.join(REPO, 'bindings', 'python')
    pkg = tmp_path / 'src'  # a copy: pip builds in place and would leave build/ and *.egg-info behind
    pkg.mkdir()
    for f in ('setup.py', 'README.md'):
        shutil.copy(os.path.join(src, f), pkg / f)
    shutil.copytree(os.path.join(src, 'textdiff'), pkg / 'textdiff', ignore=shutil.ignore_patterns('__pycache__'))
    env = {k: v for k, v in os.environ.items() if not k.startswith('PIP_')}
    env.update(PIP_NO_INDEX='1', PIP_DISABLE_PIP_VERSION_CHECK='1')
    target = tmp_path / 'site'
    # --target: a private directory, so neither the system site nor PEP 668 gets in the way;
    # --no-deps: numpy is the system's (--no-index could not fetch it anyway)
    r = subprocess.run([sys.executable, '-m', 'pip', 'install', '--no-index', '--no-deps', '--target', str(target),
                        str(pkg)], capture_output=True, text=True, env=env, timeout=180)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (target / 'textdiff' / '_ffi.py').exists()
    env = dict(os.environ, PYTHONPATH=str(target))
    r = subprocess.run([sys.executable, '-c', 'import textdiff; print(textdiff.__file__); print(textdiff.version())'],
                       capture_output=True, text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert r.returncode == 0, r.stderr
    where, ver = r.stdout.split()
    assert where.startswith(str(target)) and ver.count('.') == 2
