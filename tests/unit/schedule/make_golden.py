#!/usr/bin/python3
"""Golden transfer counts for tests/unit/schedule, from the reference arithmetic.

Dream (HKUNLP/Dream generation_utils.py): timesteps = torch.linspace(1, eps, steps+1)
(float32), k = int(num_mask_token * (1 - s / t)) in float32 except on the last step.
MaskGIT (google-research/maskgit): floor(N0 * cos(pi/2 * r)) in float32 (JAX default).
Mask-Predict (facebookresearch/Mask-Predict): (N.float() * (1 - it/T)).long().

Timesteps are torch.linspace's element formula with one float32 rounding per element
(CUDA's FMA-contracted kernel); when torch is importable the script checks it equals
torch.linspace on CPU for n < 16 (where torch's CPU kernel is scalar), and computes the
Dream counts with torch float32 tensors. Output: golden/transfer.txt, one case per line:
  dream STEPS EPS N_MASKED K0 K1 ...   (k for every step, masks decreasing as committed)
  dreamts STEPS EPS T0 T1 ...          (timesteps as float32 hex bit patterns)
  maskgit N0 STEPS R0 R1 ...           (re-masked count after each step, masks as scheduled)
  maskpredict N ITERS M0 M1 ...        (masked count at iteration 0..ITERS)
"""
import math
import os
import sys

import numpy as np

try:
    import torch
except ImportError:
    torch = None

f32 = np.float32


def linspace_np(start, end, n):
    """torch.linspace's element formula, each element rounded once to float32 (as
    CUDA's FMA-contracted kernel; the float64 products are exact)."""
    start, end = f32(start), f32(end)
    step = (end - start) / f32(n - 1)
    half = n // 2
    out = []
    for i in range(n):
        if i < half:
            out.append(f32(float(start) + float(step) * i))
        else:
            out.append(f32(float(end) - float(step) * (n - i - 1)))
    return np.array(out, dtype=np.float32)


def dream_ts(steps, eps):
    ts = linspace_np(1.0, eps, steps + 1)
    if torch is not None and steps + 1 < 16:  # torch's CPU kernel is scalar below 16
        tt = torch.linspace(1, eps, steps + 1).numpy()
        if not np.array_equal(tt, ts):
            sys.exit(f"torch.linspace differs from the element formula at steps={steps}")
    return ts


def dream_counts(n, steps, eps):
    ts = dream_ts(steps, eps)
    out = []
    for i in range(steps):
        t, s = ts[i], ts[i + 1]
        if i < steps - 1:
            if torch is not None:
                k = int(torch.tensor(n) / 1 * (1 - torch.tensor(s) / torch.tensor(t)))
            else:
                k = int(f32(n) * (f32(1) - s / t))
        else:
            k = n
        out.append(k)
        n -= k
    return out


def maskgit_counts(n0, steps):
    masked, out = n0, []
    for i in range(steps):
        if i == steps - 1:
            r = 0
        else:
            g = f32(math.cos(f32(math.pi / 2.0 * ((i + 1) / steps))))
            ln = int(np.floor(f32(n0) * g))
            r = max(1, min(masked - 1, ln))
        out.append(r)
        masked = r
    return out


def maskpredict_counts(n, iters):
    return [int(f32(n) * f32(1.0 - it / iters)) for it in range(iters + 1)]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    lines = []
    for steps in (1, 2, 3, 5, 7, 8, 16, 31, 64, 128, 256, 512):
        for eps in (1e-3, 1e-5):
            ts = dream_ts(steps, eps)
            lines.append(f"dreamts {steps} {eps!r} " + " ".join(f"{int(x.view(np.uint32)):08x}" for x in ts))
            for n in (0, 1, 2, 7, 31, 64, 100, 128, 255, 256, 1000):
                lines.append(f"dream {steps} {eps!r} {n} " + " ".join(map(str, dream_counts(n, steps, eps))))
    for n0 in (1, 2, 10, 16, 100, 256, 1024):
        for steps in (1, 2, 8, 12, 16):
            lines.append(f"maskgit {n0} {steps} " + " ".join(map(str, maskgit_counts(n0, steps))))
    for n in (0, 1, 5, 10, 33, 100, 1000):
        for iters in (1, 3, 4, 10):
            lines.append(f"maskpredict {n} {iters} " + " ".join(map(str, maskpredict_counts(n, iters))))
    with open(os.path.join(here, "golden", "transfer.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {len(lines)} cases (torch {'used' if torch is not None else 'absent'})")


if __name__ == "__main__":
    main()
