#!/usr/bin/python3
"""quant_accuracy.py -- how far each re-encoding moves a model's logits: the
table of docs/quantize.md. For an F32 GGUF model, every type of `textdiff
quantize` is written to a scratch directory, `textdiff forward` runs both models
on the same token canvases, and the logits are compared row by row.

Reported per type: file size; max relative error = max |q - f| / max |f| over all
logits; mean relative error = mean |q - f| / mean |f|; greedy agreement = the
share of rows whose arg-max token is the same.

The canvases: `--canvases` sequences of `--len` token ids drawn from the vocabulary
with a fixed seed, every third position replaced by the mask token (what a
diffusion sampler feeds), so both masked and clean rows are compared.

Usage: quant_accuracy.py --textdiff build/src/textdiff MODEL_F32.gguf
                         [--len 64] [--canvases 4] [--threads 2] [--types f16,q8_0,...]
                         [--also LABEL=FILE ...]   (files quantised elsewhere, e.g. by llama-quantize)
numpy only (and the tool); prints a Markdown table.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402

TYPES = ['f16', 'bf16', 'q8_0', 'q6_k', 'q5_k_m', 'q5_k', 'q4_k_m', 'q4_k', 'q4_0']


def logits(tool, model, tokens, threads, scratch):
    out = os.path.join(scratch, 'logits.npy')
    subprocess.run([tool, 'forward', model, '--tokens', ','.join(map(str, tokens)), '--threads', str(threads),
                    '-o', out], check=True, capture_output=True)
    return np.load(out).astype(np.float64)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--textdiff', required=True)
    ap.add_argument('--len', type=int, default=64)
    ap.add_argument('--canvases', type=int, default=4)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--types', default=','.join(TYPES))
    ap.add_argument('--also', action='append', default=[])
    ap.add_argument('model')
    a = ap.parse_args()
    g = gguf.read(a.model)
    kv = {k: v[1] for k, v in g.kv.items()}
    arch = kv['general.architecture']
    n_vocab = len(kv['tokenizer.ggml.tokens'])
    mask = kv.get('tokenizer.ggml.mask_token_id', n_vocab - 1)
    n_ctx = kv.get(arch + '.context_length', a.len)
    length = min(a.len, n_ctx)
    rng = np.random.default_rng(1234)
    canvases = []
    for _ in range(a.canvases):
        t = rng.integers(0, n_vocab, length)
        t[t == mask] = 0
        t[::3] = mask
        canvases.append(t.tolist())
    with tempfile.TemporaryDirectory() as scratch:
        ref = [logits(a.textdiff, a.model, c, a.threads, scratch) for c in canvases]
        size_f32 = os.path.getsize(a.model)
        print('| type | file size | max rel. error | mean rel. error | greedy agreement |')
        print('|---|---|---|---|---|')
        print('| f32 | %.1f MiB | 0 | 0 | 100%% |' % (size_f32 / 2 ** 20))
        jobs = [(ty, None) for ty in a.types.split(',') if ty] + [tuple(x.split('=', 1)) for x in a.also]
        for ty, given in jobs:
            path = given or os.path.join(scratch, 'q.gguf')
            if not given:
                subprocess.run([a.textdiff, 'quantize', a.model, path, '--type', ty, '--threads', str(a.threads),
                                '--quiet'], check=True, capture_output=True)
            got = [logits(a.textdiff, path, c, a.threads, scratch) for c in canvases]
            f = np.concatenate(ref)
            q = np.concatenate(got)
            max_rel = np.abs(q - f).max() / np.abs(f).max()
            mean_rel = np.abs(q - f).mean() / np.abs(f).mean()
            agree = (q.argmax(axis=1) == f.argmax(axis=1)).mean()
            print('| %s | %.1f MiB | %.4f | %.4f | %.1f%% |' % (ty, os.path.getsize(path) / 2 ** 20, max_rel,
                                                                 mean_rel, 100 * agree), flush=True)

if __name__ == '__main__':
    main()
