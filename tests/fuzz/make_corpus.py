"""make_corpus.py -- writes the seed corpus of fuzz_gguf.c into corpus/ with
tools/gguf.py: small valid files that reach every part of the loader (every
metadata type, every tensor type, a llada and a dream model that pass the
architecture checks, a GGUF v2 header, and copies of two unit-test files). Run from the repository root:
    /usr/bin/python3 tests/fuzz/make_corpus.py
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
import gguf  # noqa: E402

OUT = os.path.join(HERE, 'corpus')


def save(name, b):
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    w = gguf.Writer(alignment=8)
    for i, t in enumerate([gguf.U8, gguf.I8, gguf.U16, gguf.I16, gguf.U32, gguf.I32, gguf.U64, gguf.I64]):
        w.add('k.int%d' % i, 1, t)
    w.add('k.f32', 0.5, gguf.F32)
    w.add('k.f64', 0.25, gguf.F64)
    w.add('k.bool', True)
    w.add('k.str', 'abc')
    w.add_array('k.astr', ['x', 'yz'], gguf.STRING)
    w.add_array('k.ai32', [1, -2], gguf.I32)
    w.add_array('k.af32', [1.5], gguf.F32)
    w.add_array('k.abool', [True, False], gguf.BOOL)
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(2, 32)
    for name, t in [('f32', gguf.GGML_F32), ('f16', gguf.GGML_F16), ('bf16', gguf.GGML_BF16),
                    ('q8', gguf.GGML_Q8_0), ('q4', gguf.GGML_Q4_0)]:
        w.add_tensor(name, x, t)
    save('types.gguf', w.to_bytes())
    v2 = bytearray(w.to_bytes())
    v2[4] = 2
    save('types-v2.gguf', bytes(v2))

    tiny = dict(n_vocab=258, n_embd=32, n_layer=1, n_ff=32, n_head=2, n_head_kv=1, n_ctx=64, tied=True)
    save('llada.gguf', gguf.llama_like('llada', ttype=gguf.GGML_Q4_0, **tiny).to_bytes())
    save('dream.gguf', gguf.llama_like('dream', ttype=gguf.GGML_Q8_0, **tiny).to_bytes())
    e = gguf.Writer()
    e.add('general.architecture', 'tdiff')
    save('empty-model.gguf', e.to_bytes())
    for name in ('small.gguf', 'roundtrip.gguf'):  # the unit tests' files (make_data.py)
        with open(os.path.join(HERE, '..', 'unit', 'model', 'data', name), 'rb') as f:
            save(name, f.read())


if __name__ == '__main__':
    main()
