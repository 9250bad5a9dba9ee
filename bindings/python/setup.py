"""setup.py -- packaging of the `textdiff` Python binding: pure Python (ctypes), no
compiled extension, so the wheel is platform-independent.

Deliberately a plain setup.py without pyproject.toml: pip then builds with the
setuptools already installed (no isolated build environment to download), so
`python3 -m pip install ./bindings/python` works offline with Debian 12's pip.
The shared library itself is not packaged: it is found at run time (README.md).
"""
import os

from setuptools import setup


def readme():
    if not os.path.exists('README.md'):
        return ''
    with open('README.md') as f:
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
)
