"""make_ar_nll_goldens.py -- goldens for tdiff_objective_ar_nll (the exact
negative log-likelihood under an autoregressive file, lib/objective/ar_nll.c):
data/ar_nll.txt, one case a line

  <model file> <n_cond> <expected nll, nats> : <token ids>

expected = sum over p in [n_cond, n) of -log softmax(row)[tokens[p]], row =
llama.cpp's output row p - 1 of make_ar_goldens.py's float64 numpy forward pass
(the same reference the logit goldens come from; it shares no code with lib/).
The F16 files are dequantized exactly, so the reference sees the stored weights.

Tolerance (test_ar_nll.c): |nll - expected| <= 2 * logit tolerance * scored
tokens (a log-softmax moves by at most twice the largest logit error): 2e-4 per
token for F32 files, 2e-3 for F16.

Run: /usr/bin/python3 tests/parity/make_ar_nll_goldens.py   (numpy; deterministic)
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_ar_goldens as ar  # noqa: E402


def nll(m, tokens, n_cond):
    logits = ar.forward(m, tokens)            # row i predicts token i + 1
    total = 0.0
    for p in range(n_cond, len(tokens)):
        row = logits[p - 1]
        mx = row.max()
        total += mx + np.log(np.exp(row - mx).sum()) - row[tokens[p]]
    return total


def main():
    rng = np.random.default_rng(1717)
    lines = []
    for fname, n, n_cond in (('ar-llama-f32.gguf', 20, 1), ('ar-llama-f32.gguf', 20, 8),
                             ('ar-llama-f32.gguf', 100, 1), ('ar-llama-bias-f32.gguf', 33, 5),
                             ('ar-qwen2-f32.gguf', 20, 1), ('ar-qwen2-f32.gguf', 70, 19),
                             ('ar-qwen2-head-f32.gguf', 2, 1), ('ar-llama-f16.gguf', 40, 3),
                             ('ar-qwen2-f16.gguf', 40, 39)):
        m = ar.Model(os.path.join(ar.DATA, fname))
        toks = rng.integers(0, ar.V - 2, n).tolist()
        val = nll(m, toks, n_cond)
        lines.append('%s %d %.10f : %s' % (fname, n_cond, val, ' '.join(map(str, toks))))
        print('%s n=%d n_cond=%d nll=%.6f (%.4f/token)' % (fname, n, n_cond, val, val / (n - n_cond)))
    with open(os.path.join(ar.DATA, 'ar_nll.txt'), 'w') as f:
        f.write('# written by make_ar_nll_goldens.py: model n_cond expected_nll : token ids\n')
        for line in lines:
            f.write(line + '\n')


if __name__ == '__main__':
    main()
