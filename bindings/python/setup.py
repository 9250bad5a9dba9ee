"""setup.py -- packaging of the `textdiff` Python binding: ctypes over libtextdiff,
no compiled extension of its own, but the wheel carries the shared library.

At build time the library is looked up, in order: $TEXTDIFF_LIB (a path), the
build tree of the repository this file sits in (../../build/lib/libtextdiff.so,
what `meson compile -C build` made), the library `pkg-config libtextdiff` names
(an installed prefix). It is copied into the package as textdiff/libtextdiff.so.0,
which `import textdiff` then loads first, so an installed package needs no
environment variable. Found nowhere, the package installs without it and looks
for the installed SONAME at import time (README.md). Re-run the install after
rebuilding the library to pick up the new one.

Deliberately a plain setup.py without pyproject.toml: pip then builds with the
setuptools and wheel already installed (no isolated build environment to
download), so `pip install ./bindings/python` works offline with Debian 12's pip.
"""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = os.path.dirname(os.path.abspath(__file__))
LIB_NAME = 'libtextdiff.so.0'


def find_library():
    env = os.environ.get('TEXTDIFF_LIB')
    if env:
        if not os.path.isfile(env):
            raise SystemExit('TEXTDIFF_LIB=%s is not a file' % env)
        return env
    tree = os.path.join(HERE, os.pardir, os.pardir, 'build', 'lib', 'libtextdiff.so')
    if os.path.isfile(tree):
        return tree
    try:
        libdir = subprocess.run(['pkg-config', '--variable=libdir', 'libtextdiff'], capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    installed = os.path.join(libdir, LIB_NAME)
    return installed if os.path.isfile(installed) else None


class BuildWithLibrary(build_py):
    """Copies the shared library into the built package (never into the source tree)."""

    def run(self):
        super().run()
        src = find_library()
        if src is None:
            self.announce('libtextdiff not found (build it, or set TEXTDIFF_LIB): the package will look for '
                          'the installed %s when imported' % LIB_NAME, level=3)
            return
        src = os.path.realpath(src)
        self.announce('bundling %s as textdiff/%s' % (src, LIB_NAME), level=3)
        dst = os.path.join(self.build_lib, 'textdiff', LIB_NAME)
        shutil.copyfile(src, dst)
        os.chmod(dst, 0o755)


class WithLibrary(Distribution):
    """A platform wheel: the package holds a native library."""

    def has_ext_modules(self):
        return True


def readme():
    if not os.path.exists(os.path.join(HERE, 'README.md')):
        return ''
    with open(os.path.join(HERE, 'README.md')) as f:
        return f.read()


setup(
    name='textdiff',
    version='0.1.0',
    description='Python binding (ctypes) of libtextdiff, a runtime for text diffusion language models',
    long_description=readme(),
    long_description_content_type='text/markdown',
    license='MIT',
    packages=['textdiff'],
    python_requires='>=3.8',
    install_requires=['numpy'],
    classifiers=['Programming Language :: Python :: 3', 'Operating System :: POSIX :: Linux'],
    cmdclass={'build_py': BuildWithLibrary},
    distclass=WithLibrary,
    zip_safe=False,
)
