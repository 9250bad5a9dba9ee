"""make_mix_goldens.py -- parity data for the denoiser's mixture inputs
(tdiff_denoiser_forward_mix): for a few of make_goldens.py's tiny models, a
sequence where some positions are fed weighted mixtures of embedding rows
(soft-mask style: the mask token with weight 1 - lambda plus top-k tokens, and
arbitrary signed mixes), and the logits of the float64 PyTorch reference
(reference.forward(..., mix=...)). The C test test_mix_parity.c compares.

Run: /usr/bin/python3 tests/parity/make_mix_goldens.py   (needs torch and the
models written by make_goldens.py; CI needs only the files)

.mgold layout (little-endian):
  8 bytes  magic "TDMIX001"
  u32 x 5  n, n_vocab, has_t, name_len, n_entries
  f32 x 2  t, tolerance coefficient (max|d| <= tol * max(1, max|logit|))
  name_len bytes: the model file, relative to data/
  i32[n] tokens, u32[n + 1] offsets, i32[n_entries] ids, f32[n_entries] weights,
  f32[n * n_vocab] logits (all positions)
"""
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
import gguf  # noqa: E402
import reference  # noqa: E402

DATA = os.path.join(HERE, 'data')
V = 320
MASK = 319


def mixtures(rng, tokens):
    """Lists per position: unmasked -> [], some masked -> [(MASK, 1)], others a
    soft mask (MASK, 1 - lam) + 3 tokens, and a few signed 2-5 term mixes."""
    out = []
    for i, tok in enumerate(tokens):
        kind = i % 4
        if kind == 0:
            out.append([])
        elif kind == 1:
            out.append([(MASK, 1.0)])
        elif kind == 2:
            lam = float(rng.uniform(0.05, 0.6))
            pi = rng.dirichlet([1.0, 1.0, 1.0])
            ids = rng.choice(MASK, 3, replace=False)
            out.append([(MASK, 1.0 - lam)] + [(int(v), lam * float(p)) for v, p in zip(ids, pi)])
        else:
            m = int(rng.integers(2, 6))
            out.append([(int(v), float(w)) for v, w in zip(rng.integers(0, V, m), rng.normal(0.0, 0.7, m))])
    # weights as the C side will read them (float32), so both sums use the same values
    return [[(v, float(np.float32(w))) for v, w in pairs] for pairs in out]


def write_case(name, model_file, tokens, mix, t=None, tol=1e-4):
    g = gguf.read(os.path.join(DATA, model_file))
    logits = reference.forward(g, tokens, t=t, mix=mix).numpy()
    offsets = [0]
    ids, weights = [], []
    for pairs in mix:
        for v, w in pairs:
            ids.append(v)
            weights.append(w)
        offsets.append(len(ids))
    mref = model_file.encode()
    out = bytearray(b'TDMIX001')
    out += struct.pack('<5I', len(tokens), logits.shape[1], t is not None, len(mref), len(ids))
    out += struct.pack('<2f', 0.0 if t is None else t, tol)
    out += mref
    out += np.asarray(tokens, '<i4').tobytes() + np.asarray(offsets, '<u4').tobytes()
    out += np.asarray(ids, '<i4').tobytes() + np.asarray(weights, '<f4').tobytes()
    out += logits.astype('<f4').tobytes()
    with open(os.path.join(DATA, name + '.mgold'), 'wb') as f:
        f.write(out)
    return name


def main():
    rng = np.random.default_rng(91)
    cases = []
    for model_file, t, tol in [('llada-f32.gguf', None, 1e-4), ('dream-f32.gguf', None, 1e-4),
                               ('bert-f32.gguf', None, 1e-4), ('dit-f32.gguf', 0.7, 1e-4),
                               ('llada-q8_0.gguf', None, 1e-3)]:
        tokens = rng.integers(0, MASK, 18).tolist()
        for i in range(1, 18, 4):
            tokens[i] = MASK  # the masked positions carry the mask id, as in a sampler
        mix = mixtures(rng, tokens)
        cases.append(write_case('mixin-' + model_file[:-5], model_file, tokens, mix, t=t, tol=tol))
    with open(os.path.join(DATA, 'mix_cases.txt'), 'w') as f:
        f.write('# written by make_mix_goldens.py: one case per line (data/<case>.mgold)\n')
        f.write('\n'.join(cases) + '\n')
    print('wrote %d mixture cases to %s' % (len(cases), DATA))


if __name__ == '__main__':
    main()
