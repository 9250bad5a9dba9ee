#!/usr/bin/env python3
"""compare_gpt2_corpus.py -- a larger, manual check than the unit test: tokenizes a
whole text file with the built library (through ctypes, the GPT-2 GGUF of data/)
and compares the ids with gpt-3-encoder's Encoder.js. Encoder.js is quadratic on
long inputs, so it gets the text in ~2000-character segments cut just before a
" x" that follows an ASCII letter -- a place where the GPT-2 pattern always
starts a new piece, so the concatenated ids are those of the whole text.

Usage: compare_gpt2_corpus.py BUILD_DIR TEXT_FILE
       (e.g. build /tmp/austen.txt after bench/tokenize/make_corpus.py /tmp/austen.txt)
"""
import ctypes
import json
import os
import subprocess
import sys

import refpkg

HERE = os.path.dirname(os.path.abspath(__file__))


def ours(build, text):
    lib = ctypes.CDLL(os.path.join(build, 'lib', 'libtextdiff.so'))
    model, tok = ctypes.c_void_p(), ctypes.c_void_p()
    err = ctypes.create_string_buffer(512)
    path = os.path.join(HERE, 'data', 'gpt2.gguf').encode()
    if lib.tdiff_model_load_file(path, None, ctypes.byref(model), err, 512) != 0 or \
            lib.tdiff_tokenizer_create(model, None, ctypes.byref(tok), err, 512) != 0:
        sys.exit('library: %s' % err.value.decode())
    n = ctypes.c_size_t()
    lib.tdiff_tokenizer_tokenize(tok, text, ctypes.c_size_t(len(text)), 0, None, ctypes.c_size_t(0), ctypes.byref(n))
    ids = (ctypes.c_int32 * n.value)()
    if lib.tdiff_tokenizer_tokenize(tok, text, ctypes.c_size_t(len(text)), 0, ids, n, ctypes.byref(n)) != 0:
        sys.exit('tokenize failed')
    return list(ids)


def segments(s, step=2000):
    out, a, i = [], 0, step
    while i < len(s) - 1:
        if s[i] == ' ' and s[i - 1].isascii() and s[i - 1].isalpha() and s[i + 1].isascii() and s[i + 1].isalpha():
            out.append(s[a:i])
            a, i = i, i + step
        else:
            i += 1
    out.append(s[a:])
    return out


def main():
    build, path = sys.argv[1], sys.argv[2]
    text = open(path, 'rb').read()
    mine = ours(build, text)
    enc = os.path.join(refpkg.package_dir('gpt-3-encoder'), 'Encoder.js')
    js = ("const e=require(%s);const segs=JSON.parse(require('fs').readFileSync(0,'utf-8'));const out=[];"
          "for(const x of segs){for(const v of e.encode(x))out.push(v);}process.stdout.write(JSON.stringify(out))"
          % json.dumps(enc))
    ref = json.loads(subprocess.run(['node', '-e', js], input=json.dumps(segments(text.decode('utf-8'))),
                                    capture_output=True, text=True, check=True).stdout)
    same = sum(1 for a, b in zip(mine, ref) if a == b)
    print('%s: library %d ids, gpt-3-encoder %d ids, %d equal position by position%s'
          % (path, len(mine), len(ref), same, '' if mine == ref else '  MISMATCH'))
    sys.exit(0 if mine == ref else 1)


if __name__ == '__main__':
    main()
