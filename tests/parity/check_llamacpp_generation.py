"""check_llamacpp_generation.py -- checks reference.py against llama.cpp itself:
replays the greedy llama-diffusion-cli run recorded in tests/fixtures/README.md
(llada-tiny.gguf, 64-token canvas, blocks of 16 after the 13-token prompt, 4 steps
per block, top-k 1 so every confidence is 1 and ties commit left to right) with the
reference network and requires the same 51 generated ids. Exit status 1 on mismatch.

Run: /usr/bin/python3 tests/parity/check_llamacpp_generation.py   (needs torch)
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
import gguf  # noqa: E402
import reference  # noqa: E402

PROMPT = [2046, 116, 468, 258, 301, 274, 301, 270, 110, 275, 468, 268, 301]
EXPECTED = [1991] * 8 + [1438] * 4 + [130] * 24 + [1509] * 15
MASK, CANVAS, BLOCK, STEPS_PER_BLOCK = 2047, 64, 16, 4


def main():
    g = gguf.read(os.path.join(HERE, '..', 'fixtures', 'llada-tiny.gguf'))
    x = PROMPT + [MASK] * (CANVAS - len(PROMPT))
    for b0 in range(len(PROMPT), CANVAS, BLOCK):
        b1 = min(b0 + BLOCK, CANVAS)
        n_masked = b1 - b0
        counts = [n_masked // STEPS_PER_BLOCK + (1 if s < n_masked % STEPS_PER_BLOCK else 0)
                  for s in range(STEPS_PER_BLOCK)]
        for k in counts:
            if k == 0:
                continue
            logits = reference.forward(g, x).numpy()
            masked = [i for i in range(b0, b1) if x[i] == MASK]
            for i in masked[:k]:  # equal confidences: lowest position first
                x[i] = int(np.argmax(logits[i]))
    got = x[len(PROMPT):]
    print('generated:', ' '.join(map(str, got)))
    if got != EXPECTED:
        print('MISMATCH with llama.cpp')
        return 1
    print('matches llama.cpp')
    return 0


if __name__ == '__main__':
    sys.exit(main())
