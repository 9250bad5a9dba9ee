"""make_spindle_goldens.py -- DiffusionBERT's reverse step under the spindle
schedule (He et al. 2023), in float64, written here from the paper and its
reference code's description (diffusion_word_freq.py: noise_fn, qt_reverse,
p_forward; docs/sampling.md "spindle"), with the random draws supplied exactly
as the library keys them (Philox4x32-10, tests/unit/sampler/reference.py).
test_spindle_parity.c replays every case.

The math (T steps, t = T..1, base ᾱ_t = 1 - t/T, one-step β_t = 1/(T - t + 1)):
  w_v   = float32(log(1 + count_v) / max_u log(1 + count_u))   (the scheduler stores float)
  a_i   = x_t[i] where the canvas holds a token, arg-max p̃(x_0 | x_t)_i at a mask
  k_i   = clip((1 - s) + λ sin(π s) (w_{a_i} - mean_j w_{a_j}), 0, 0.999),  s = (t-1)/T;  k_i = 1 at s = 0
  q(x_{t-1} = v)    ∝ k_i p̃_v β_t            (v ≠ mask)
  q(x_{t-1} = mask) ∝ 1 - k_i (1 - p̃_mask)
p̃ = softmax(logits) with the mask's logit -inf (SUBS). Unmasked positions stay.
The network gets no time input (time-agnostic decoding).

Cases:
  post_*  one step's posterior of every masked position from given float32
          logits (no network): the full V-vector, compared at 1e-12 relative.
  traj_*  whole trajectories on the tiny random BERT-layout file bert-f32.gguf
          (PyTorch float64 forward, reference.py) at fixed seeds: the canvas after
          every step exactly, the drawn token's posterior probability per position
          at 1e-4 relative. A seed is kept only when every discrete decision has
          a margin: arg-max gaps >= 5e-3 logits, and every inverse-CDF target at
          least 2e-5 (of the total weight) from a bucket edge (the float32 network
          moves probabilities by ~1e-6). Each trajectory must also change when λ is
          set to 0 or the keep is read at t instead of t-1 ("ablations"), so the
          C test can tell the spindle posterior from its neighbours.

Run: /usr/bin/python3 tests/parity/make_spindle_goldens.py  (needs torch for the
trajectories; CI needs only data/spindle.txt). Deterministic output.

data/spindle.txt:
  post NAME V MASK LAMBDA T t N / counts c... / canvas tok... /
      then per masked position: logits POS l... / prob POS p... / end
  traj NAME / model FILE / lambda L / counts c... / canvas N_PROMPT tok... /
      int PARAM VALUE... / tol REL ABS / margin X / steps S / (step I tok... / conf c...) x S / end
"""
import importlib.util
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
sys.path.insert(0, HERE)

_spec = importlib.util.spec_from_file_location('sampler_reference',
                                               os.path.join(HERE, '..', 'unit', 'sampler', 'reference.py'))
sref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sref)

DATA = os.path.join(HERE, 'data')
ARGMAX_GAP = 5e-3    # logit units
DRAW_GAP = 2e-5      # fraction of the total weight
POST_TOL = (1e-12, 1e-18)
TRAJ_TOL = (1e-4, 1e-7)


# ---------------------------------------------------------------- the paper's posterior
def weights(counts):
    lg = np.log1p(np.asarray(counts, dtype=np.float64))
    return (lg / lg.max()).astype(np.float32).astype(np.float64)


def keep(w, anchors, lam, s):
    if s == 0.0:
        return np.ones(len(anchors))
    mean = sum(float(w[a]) for a in anchors) / len(anchors)
    wave = lam * math.sin(math.pi * (s if s < 0.5 else 1.0 - s))
    k = (1.0 - s) + wave * (w[np.asarray(anchors)] - mean)
    return np.clip(k, 0.0, 0.999)


def allowed(row32, mask):
    r = np.array(row32, dtype=np.float64)
    r[mask] = -np.inf
    return r


def softmax(r):
    e = np.exp(r - r.max())
    return e / e.sum()


def posterior(p0, mask, k, beta):
    q = k * p0 * beta
    q[mask] = 1.0 - k * (1.0 - p0[mask])
    return q / q.sum()


def step_posteriors(x, logits, mask, w, lam, T, t, s=None):
    """x: the canvas x_t; logits: {pos: float32 row} for every masked position;
    s: the time the keep is read at (default (t-1)/T; an ablation moves it).
    Returns {pos: posterior} and the arg-max gaps."""
    anchors, gaps = list(x), {}
    for p, row in logits.items():
        r = allowed(row, mask)
        anchors[p] = int(np.argmax(r))
        top = np.sort(r[np.isfinite(r)])[::-1]
        gaps[p] = top[0] - top[1]
    k = keep(w, anchors, lam, (t - 1) / T if s is None else s)
    beta = 1.0 / (T - t + 1)
    return {p: posterior(softmax(allowed(row, mask)), mask, k[p], beta) for p, row in logits.items()}, gaps


def draw(q, u):
    """Inverse CDF (core/rng.c): the first bucket whose running sum exceeds u * total;
    also the target's distance to the nearest bucket edge, as a fraction of the total."""
    total = float(np.sum(q))  # ordering differences are ~1e-16, far inside DRAW_GAP
    target, acc, pick, gap = u * total, 0.0, None, math.inf
    for v in range(len(q)):
        if q[v] <= 0.0:
            continue
        acc += float(q[v])
        gap = min(gap, abs(target - acc) / total)
        if pick is None and target < acc:
            pick = v
    return pick, gap


# ---------------------------------------------------------------- posterior cases
def post_case(name, rng, V, mask, lam, T, t, n):
    counts = np.floor(rng.pareto(1.2, V) * 50).astype(np.int64)  # Zipf-like corpus counts
    x = [int(v) + (v >= mask) for v in rng.integers(0, V - 1, n)]  # any token but the mask
    masked = sorted(rng.choice(n, size=max(1, n // 2), replace=False).tolist())
    for p in masked:
        x[p] = mask
    logits = {p: (rng.standard_normal(V) * 3.0).astype(np.float32) for p in masked}
    post, _ = step_posteriors(x, logits, mask, weights(counts), lam, T, t)
    out = ['post %s %d %d %.17g %d %d %d' % (name, V, mask, lam, T, t, n),
           'counts ' + ' '.join(str(int(c)) for c in counts),
           'canvas ' + ' '.join(map(str, x))]
    for p in masked:
        out.append('logits %d %s' % (p, ' '.join('%.9g' % v for v in logits[p])))
        out.append('prob %d %s' % (p, ' '.join('%.17g' % v for v in post[p])))
    out.append('end')
    return out


# ---------------------------------------------------------------- trajectories
def run_traj(g, canvas, n_prompt, counts, lam, T, seed, ablate=None):
    import reference
    mask = 319
    w = weights(counts)
    x = list(canvas)
    record, worst, where = [], math.inf, ''
    for i in range(T):
        t = T - i
        act = [p for p in range(n_prompt, len(x)) if x[p] == mask]
        if not act:
            break
        rows = reference.forward(g, x).numpy().astype(np.float32)
        logits = {p: rows[p] for p in act}
        if ablate == 'lambda0':
            post, gaps = step_posteriors(x, logits, mask, w, 0.0, T, t)
        elif ablate == 'keep_at_t':
            post, gaps = step_posteriors(x, logits, mask, w, lam, T, t, s=t / T)
        else:
            post, gaps = step_posteriors(x, logits, mask, w, lam, T, t)
        conf, new = [math.nan] * len(x), {}
        for p in act:
            if gaps[p] < worst:
                worst, where = gaps[p], 'step %d pos %d arg-max' % (i, p)
            u = sref.uniform1(seed, i, p, sref.DRAW_SAMPLE)
            v, gap = draw(post[p], u)
            if gap * (ARGMAX_GAP / DRAW_GAP) < worst:  # one scale: draw gaps in argmax units
                worst, where = gap * (ARGMAX_GAP / DRAW_GAP), 'step %d pos %d draw' % (i, p)
            new[p], conf[p] = v, float(post[p][v])
        for p, v in new.items():
            x[p] = v
        record.append((i, list(x), conf))
    return record, worst, where


TRAJ = [  # name, n_prompt, gen, steps, lambda
    ('traj_l03_T6', 3, 8, 6, 0.3),
    ('traj_l03_T10', 2, 10, 10, 0.3),
    ('traj_l1_T8', 4, 8, 8, 1.0),
]


def traj_cases():
    import gguf
    g = gguf.read(os.path.join(DATA, 'bert-f32.gguf'))
    out = []
    for name, n_prompt, gen, T, lam in TRAJ:
        for attempt in range(60):
            rng = np.random.default_rng([sum(map(ord, name)), attempt])
            counts = np.floor(rng.pareto(1.0, 320) * 20).astype(np.int64)
            canvas = rng.integers(0, 319, n_prompt).tolist() + [319] * gen
            seed = int(rng.integers(1, 2 ** 40))
            record, worst, where = run_traj(g, canvas, n_prompt, counts, lam, T, seed)
            if worst >= ARGMAX_GAP:
                break
            print('  %s attempt %d: margin %.3g at %s -- next' % (name, attempt, worst, where))
        else:
            raise SystemExit('%s: no attempt clears the margins' % name)
        abl = []
        for a in ('lambda0', 'keep_at_t'):
            ra, _, _ = run_traj(g, canvas, n_prompt, counts, lam, T, seed, ablate=a)
            ch = 0.0
            for (_, ta, ca), (_, tb, cb) in zip(ra, record):
                if ta != tb:
                    ch = math.inf
                    break
                ch = max([ch] + [abs(p - q) / q for p, q in zip(ca, cb) if not math.isnan(q)])
            if len(ra) != len(record):
                ch = math.inf
            if not ch > 100 * TRAJ_TOL[0]:
                raise SystemExit('%s: ablation %s changes the trajectory by only %.3g' % (name, a, ch))
            abl.append('%s: %s' % (a, 'tokens differ' if ch == math.inf else 'conf %.2g' % ch))
        print('%-14s attempt %d  steps %2d  min margin %.4f (%s); ablations: %s' %
              (name, attempt, len(record), worst, where, ', '.join(abl)))
        out += ['traj %s' % name, 'model bert-f32.gguf', 'lambda %.17g' % lam,
                'counts ' + ' '.join(str(int(c)) for c in counts),
                'canvas %d %s' % (n_prompt, ' '.join(map(str, canvas))),
                'int SEED %d' % seed, 'int STEPS %d' % T, 'int GEN_LENGTH %d' % gen,
                'tol %g %g' % TRAJ_TOL, 'margin %.6g' % worst, 'steps %d' % len(record)]
        for i, toks, conf in record:
            out.append('step %d %s' % (i, ' '.join(map(str, toks))))
            out.append('conf %s' % ' '.join('nan' if math.isnan(v) else '%.9g' % v for v in conf))
        out.append('end')
    return out


def main():
    out = ['# spindle.txt -- written by make_spindle_goldens.py (float64 reference); do not edit.',
           '# post tolerance %g rel + %g abs; traj tolerance in each case' % POST_TOL]
    rng = np.random.default_rng(2023)
    for name, V, mask, lam, T, t, n in [('post_first', 40, 39, 0.3, 8, 8, 10), ('post_mid', 40, 39, 0.3, 8, 4, 10),
                                        ('post_last', 40, 0, 0.3, 8, 1, 10), ('post_lam1', 64, 63, 1.0, 20, 9, 16),
                                        ('post_clip', 64, 63, 1.0, 4, 3, 16)]:
        out += post_case(name, rng, V, mask, lam, T, t, n)
    if '--no-traj' not in sys.argv:
        out += traj_cases()
    with open(os.path.join(DATA, 'spindle.txt'), 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('wrote %s' % os.path.join(DATA, 'spindle.txt'))


if __name__ == '__main__':
    main()
