"""conftest.py -- shared fixtures of the binding's tests: where the repository, the C
tool, the model fixtures and tools/gguf.py are, and a helper to run the tool.

Environment: TEXTDIFF_LIB (the library under test; the binding reads it),
TEXTDIFF_TOOL (the `textdiff` tool; default: src/textdiff of the build tree that
TEXTDIFF_LIB points into, else build/src/textdiff), TDIFF_FIXTURES (default
tests/fixtures next to the repository).
"""
import os
import subprocess
import sys

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir))
sys.path.insert(0, os.path.join(REPO, 'bindings', 'python'))  # the package from this tree, installed or not
sys.path.insert(0, os.path.join(REPO, 'tools'))  # gguf.py, our numpy-only GGUF writer/reader


def _tool_path():
    env = os.environ.get('TEXTDIFF_TOOL')
    if env:
        return env
    lib = os.environ.get('TEXTDIFF_LIB')
    if lib:  # <build>/lib/libtextdiff.so -> <build>/src/textdiff: the tool of the same build
        cand = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(lib))), 'src', 'textdiff')
        if os.path.exists(cand):
            return cand
    return os.path.join(REPO, 'build', 'src', 'textdiff')


@pytest.fixture(scope='session')
def tool():
    path = _tool_path()
    if not os.access(path, os.X_OK):
        pytest.fail('the textdiff tool is not at %s: build it or set TEXTDIFF_TOOL' % path)

    def run(*args, check=True):
        r = subprocess.run([path] + [str(a) for a in args], capture_output=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError('textdiff %s failed (%d): %s' % (' '.join(map(str, args)), r.returncode,
                                                                 r.stderr.decode(errors='replace')))
        return r
    return run


@pytest.fixture(scope='session')
def fixtures_dir():
    d = os.environ.get('TDIFF_FIXTURES') or os.path.join(REPO, 'tests', 'fixtures')
    if not os.path.exists(os.path.join(d, 'llada-tiny.gguf')):
        pytest.fail('model fixtures not found in %s: set TDIFF_FIXTURES' % d)
    return os.path.abspath(d)


@pytest.fixture(scope='session')
def llada_path(fixtures_dir):
    return os.path.join(fixtures_dir, 'llada-tiny.gguf')


@pytest.fixture(scope='session')
def dream_path(fixtures_dir):
    return os.path.join(fixtures_dir, 'dream-tiny.gguf')


@pytest.fixture(params=['llada', 'dream'])
def model_path(request, fixtures_dir):
    """Each llama.cpp-written fixture in turn (llada: plain logits; dream: shifted, GQA, biases)."""
    return os.path.join(fixtures_dir, '%s-tiny.gguf' % request.param)


@pytest.fixture
def model(model_path):
    import textdiff
    with textdiff.Model(model_path) as m:
        yield m


@pytest.fixture(scope='session')
def gguf():
    import gguf as g
    return g


@pytest.fixture(scope='session')
def small_llada(tmp_path_factory, gguf):
    """A tiny llada model written by tools/gguf.py (vocabulary 300, 1 layer, tied head)."""
    path = tmp_path_factory.mktemp('models') / 'small-llada.gguf'
    gguf.write_llada(str(path), n_vocab=300, n_embd=32, n_layer=1, n_ff=48, n_head=2, n_ctx=128, tied=True, seed=5,
                     std=0.5)
    return str(path)
