#!/usr/bin/env python3
"""Goldens for the planned strategy (planned diffusion, Israel et al. 2025): an independent
float64 implementation of the sampler that docs/sampling.md ("planned") specifies, on the
PyTorch reference network (reference.py, span masks as docs/model-format.md defines them).

Model: data/planned-llada-f32.gguf, a tiny random llada file with the tdiff.planned.* tag ids
(digits 300..309, <promise> 310, </promise> 311, <async> 312, </async> 313, <sync/> 314; EOS
318, mask 319). The output rows of the tag and digit ids are scaled up so that the random
model writes plans (and malformed ones) by itself.

Data: data/planned_cases.txt, one case per line:
  name | gen_length steps_per_token max_spans max_span_length default_span_length length_scale
       | prompt ids | expected canvas after the prompt | forward passes | min margin
Greedy (temperature 0): AR rows take the arg-max (the mask id excluded), span rows the arg-max
with confidence softmax(row)[arg-max]. A case is kept only when every arg-max wins by >= MARGIN
(logit gap) and every confidence comparison that decides a commit by >= MARGIN (probability), so
float32 deviations cannot flip a token. Regenerate: /usr/bin/python3 tests/parity/make_planned_goldens.py
(needs torch; deterministic).
"""
import math
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
import gguf  # noqa: E402
import reference  # noqa: E402

DATA = os.path.join(HERE, 'data')
V = 320
DIGITS = list(range(300, 310))
P_OPEN, P_CLOSE, A_OPEN, A_CLOSE, SYNC = 310, 311, 312, 313, 314
EOS, MASK = 318, 319
MARGIN = 1e-3


def write_model(path):
    w = gguf.llama_like('llada', n_vocab=V, n_embd=64, n_layer=2, n_ff=96, n_head=4, n_ctx=128, seed=41, std=0.15)
    for k, v in (('promise_open_id', P_OPEN), ('promise_close_id', P_CLOSE), ('async_open_id', A_OPEN),
                 ('async_close_id', A_CLOSE), ('sync_id', SYNC)):
        w.add('tdiff.planned.' + k, v, gguf.U32)
    w.add_array('tdiff.planned.digit_ids', DIGITS, gguf.I32)
    out = []
    for name, ttype, ne, data in w.tensors:
        if name == 'output.weight':
            a = np.frombuffer(data, np.float32).reshape(V, -1).copy()
            a[DIGITS + [P_OPEN, P_CLOSE, A_OPEN, SYNC]] *= 3.0
            a[EOS] *= 0.5
            data = a.tobytes()
        out.append((name, ttype, ne, data))
    w.tensors = out
    w.write(path)
    return gguf.read(path)


def parse_plan(toks, max_spans, max_len, default_len, scale):
    """Entries <promise> ... [</promise>]: the length is the last run of digit tokens."""
    entries, cur = [], None
    for t in toks:
        if t == P_OPEN:
            if cur is not None:
                entries.append(cur)
            cur = []
        elif t == P_CLOSE:
            if cur is not None:
                entries.append(cur)
            cur = None
        elif cur is not None:
            cur.append(t)
    if cur is not None:
        entries.append(cur)
    lens = []
    for e in entries:
        runs, run = [], None
        for t in e:
            if t in DIGITS:
                run = (run or '') + str(DIGITS.index(t))
            else:
                if run is not None:
                    runs.append(run)
                run = None
        if run is not None:
            runs.append(run)
        if not runs:
            n = default_len
        else:
            n = int(runs[-1]) if len(runs[-1]) <= 9 else 10 ** 12
        if n == 0:
            continue
        n = min(n, max_len)
        if len(lens) >= max_spans:
            continue
        lens.append(max(1, min(max_len, int(math.floor(n * scale + 0.5)))))
    return lens


class Run:
    def __init__(self, g, prompt, gen, knobs):
        self.g, self.x = g, list(prompt) + [MASK] * gen
        self.n, self.start = len(self.x), len(prompt)
        self.group = [0] * self.n
        self.next_group = 1
        self.forwards = 0
        self.margin = float('inf')
        self.per_token, self.max_spans, self.max_len, self.default_len, self.scale = knobs

    def logits(self, n_prefix, positions):
        self.forwards += 1
        return reference.forward(self.g, self.x[:n_prefix], positions, attention=reference.SPANS,
                                 span=self.group[:n_prefix]).numpy()

    def layout(self, q, round_lo):
        lens = parse_plan(self.x[round_lo:q], self.max_spans, self.max_len, self.default_len, self.scale)
        spans, pos = [], q
        for ln in lens:
            if self.n - pos < 4:
                break
            ln = min(ln, self.n - pos - 3)
            steps = min(ln, max(1, math.ceil(ln * self.per_token)))
            spans.append((pos + 1, pos + 1 + ln, steps))
            pos += ln + 2
        if not spans:
            return None
        for lo, hi, _ in spans:
            g = self.next_group
            self.next_group += 1
            for j in range(lo - 1, hi + 1):
                self.group[j] = g
            self.x[lo - 1] = A_OPEN
            for j in range(lo, hi):
                self.x[j] = MASK
            self.x[hi] = A_CLOSE
        self.x[pos] = SYNC
        self.group[pos] = 0
        return spans, pos + 1

    def denoise(self, spans, end):
        for s in range(max(st for _, _, st in spans)):
            act = [i for i in range(spans[0][0], end) if self.x[i] == MASK]
            rows = self.logits(end, act)
            pred = {}
            for i, row in zip(act, rows):
                row = row.astype(np.float64).copy()
                row[MASK] = -np.inf
                top = np.sort(row)[-2:]
                self.margin = min(self.margin, top[1] - top[0])
                p = np.exp(row - row.max())
                p /= p.sum()
                pred[i] = (int(row.argmax()), float(p.max()))
            for lo, hi, steps in spans:
                left = [i for i in range(lo, hi) if self.x[i] == MASK]
                ln = hi - lo
                want = 0 if s >= steps else len(left) if s + 1 == steps else ln // steps + (1 if s < ln % steps else 0)
                order = sorted(left, key=lambda i: (-pred[i][1], i))
                if 0 < want < len(order):  # the commit boundary decides
                    self.margin = min(self.margin, pred[order[want - 1]][1] - pred[order[want]][1])
                for i in order[:want]:
                    self.x[i] = pred[i][0]

    def run(self):
        p, round_lo = self.start, 0  # the first round's plan may begin in the prompt
        if p > 0 and self.x[p - 1] == A_OPEN:
            lay = self.layout(p - 1, round_lo)
            if lay:
                self.denoise(*lay)
                p = round_lo = lay[1]
        while p < self.n:
            row = self.logits(p + 1, [p])[0].astype(np.float64)
            row[MASK] = -np.inf
            top = np.sort(row)[-2:]
            self.margin = min(self.margin, top[1] - top[0])
            tok = int(row.argmax())
            self.x[p] = tok
            self.group[p] = 0
            p += 1
            if tok == EOS:
                for i in range(p, self.n):
                    self.x[i] = EOS
                break
            if tok in (A_OPEN, SYNC):
                lay = self.layout(p - 1, round_lo)
                if lay:
                    self.denoise(*lay)
                    p = round_lo = lay[1]
        return self.x[self.start:]


def main():
    os.makedirs(DATA, exist_ok=True)
    g = write_model(os.path.join(DATA, 'planned-llada-f32.gguf'))
    rng = np.random.default_rng(5)
    # (name, gen, knobs, prompt maker): knobs = steps_per_token, max_spans, max_len, default_len, scale
    specs = [
        ('free-run', 40, (0.5, 16, 64, 16, 1.0), lambda: rng.integers(0, 300, 5).tolist()),
        ('caller-plan', 30, (0.5, 16, 64, 16, 1.0),
         lambda: rng.integers(0, 300, 3).tolist() + [P_OPEN, 7, DIGITS[6], P_CLOSE, P_OPEN, 9, DIGITS[4], P_CLOSE,
                                                     A_OPEN]),
        ('caller-plan-scaled', 30, (1.0, 16, 64, 16, 0.5),
         lambda: rng.integers(0, 300, 3).tolist() + [P_OPEN, DIGITS[1], DIGITS[2], P_CLOSE, P_OPEN, DIGITS[5],
                                                     A_OPEN]),
        ('caller-plan-oversized', 24, (0.25, 2, 8, 4, 1.0),
         lambda: rng.integers(0, 300, 2).tolist() + [P_OPEN, DIGITS[9], DIGITS[9], DIGITS[9], P_OPEN, 5, P_OPEN,
                                                     DIGITS[0], P_CLOSE, P_OPEN, DIGITS[3], A_OPEN]),
    ]
    lines = []
    for name, gen, knobs, make in specs:
        for attempt in range(60):
            prompt = make()
            r = Run(g, prompt, gen, knobs)
            out = r.run()
            if r.margin >= MARGIN and r.next_group > 1:
                break
        else:
            raise RuntimeError('no prompt with a safe margin for ' + name)
        print('%-24s forwards %3d margin %.2e spans %d' % (name, r.forwards, r.margin, r.next_group - 1))
        lines.append('%s | %d %g %d %d %d %g | %s | %s | %d | %.3e' % (
            name, gen, *knobs, ' '.join(map(str, prompt)), ' '.join(map(str, out)), r.forwards, r.margin))
    with open(os.path.join(DATA, 'planned_cases.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    torch.set_default_dtype(torch.float64)
    main()
