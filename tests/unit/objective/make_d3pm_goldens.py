#!/usr/bin/python3
"""make_d3pm_goldens.py -- goldens for tdiff_objective_d3pm_loss, from dense numpy
matrices and the formulas of D3PM's reference code (google-research d3pm,
images/diffusion_categorical.py: q_posterior_logits, p_logits, vb_terms_bpd,
prior_bpd; docs/algorithms.md "D3PM loss"), written independently of the C code:

  t >= 2  KL(softmax(log(Q_t[:, x_t] + 1e-6) + log(e_x0 Q̄_{t-1} + 1e-6))
             || softmax(log(Q_t[:, x_t] + 1e-6) + log(p̃ Q̄_{t-1} + 1e-6)))
  t  = 1  -log p̃(x_0 | x_1)                (p_logits returns the network's logits at t = 0)
  prior   Σ q(x_T|x_0) (log(q + 1e-6) - log(prior + 1e-6))

For the toy problem of test_d3pm_loss.c (V = 4, T = 5, mask 3, x_0 = (1, 2), the
cosine β of tdiff's scheduler) it writes, per transition kind and model:
  exact    the bound's expectation, enumerating every t and every joint x_t;
  sampled  the library's estimator replayed draw for draw (Philox4x32-10 keyed as
           d3pm_loss.c documents) for seed 17 and 64 samples, with its standard error.
Models: "smooth" (every logit finite) and "hard" (from t = 2/T on, a visible token's
own logit is -inf, so under the absorbing kind x_t is impossible for p̃ -- not an
error in the reference's floored log space).
Usage: /usr/bin/python3 make_d3pm_goldens.py > d3pm_goldens.txt   (numpy only)
"""
import math
import sys

import numpy as np

V, T, MASK, N = 4, 5, 3, 2
X0 = (1, 2)
EPS = 1e-6            # the reference's self.eps
COSINE_S, MAX_BETA = 0.008, 0.999   # tdiff's scheduler defaults (D3PM's cosine schedule)
SEED, SAMPLES = 17, 64


def betas():
    abar = lambda t: math.cos((t + COSINE_S) / (1 + COSINE_S) * math.pi / 2)
    return [None] + [min(1 - abar(t / T) / abar((t - 1) / T), MAX_BETA) for t in range(1, T + 1)]


def matrices(kind):
    """Q[t] (t = 1..T) and Qbar[t] (t = 0..T), row-stochastic, dense float64."""
    b = betas()
    Q = [None]
    for t in range(1, T + 1):
        if kind == 'uniform':
            q = (1 - b[t]) * np.eye(V) + b[t] / V * np.ones((V, V))
        else:
            q = (1 - b[t]) * np.eye(V)
            q[:, MASK] += b[t]
        Q.append(q)
    Qbar = [np.eye(V)]
    for t in range(1, T + 1):
        Qbar.append(Qbar[-1] @ Q[t])
    return Q, Qbar


def model(kind_of_model, tok, t):
    """The test's network in float32, exactly as test_d3pm_loss.c computes it."""
    f = np.float32
    tf = f(t)
    out = np.zeros((N, V), dtype=np.float32)
    for i in range(N):
        for j in range(V):
            l = f(f(f(0.3) * f(j)) * tf)
            l = f(l + (f(1.0) if tok[1 - i] == j else f(0.0)))
            l = f(l + (f(0.5) if j == i else f(0.0)))
            out[i, j] = l
        if kind_of_model == 'hard' and tf > f(1.5 / T) and tok[i] != MASK:
            out[i, tok[i]] = -np.inf
    return out


def log_softmax(l):
    l = np.asarray(l, dtype=np.float64)
    m = np.max(l)
    return l - (m + math.log(np.sum(np.exp(l - m))))


def term(Q, Qbar, t, xt, logits):
    """Σ over positions of the reference's term at step t."""
    total = 0.0
    for i in range(N):
        lp = log_softmax(logits[i])
        if t == 1:
            total += -lp[X0[i]]
            continue
        fact1 = Q[t][:, xt[i]]
        one = np.zeros(V)
        one[X0[i]] = 1.0
        lq = log_softmax(np.log(fact1 + EPS) + np.log(one @ Qbar[t - 1] + EPS))
        lm = log_softmax(np.log(fact1 + EPS) + np.log(np.exp(lp) @ Qbar[t - 1] + EPS))
        total += float(np.sum(np.exp(lq) * (lq - lm)))
    return total


def prior(kind, Qbar):
    total = 0.0
    for i in range(N):
        q = Qbar[T][X0[i]]
        p = np.full(V, 1.0 / V) if kind == 'uniform' else np.eye(V)[MASK]
        total += float(np.sum(q * (np.log(q + EPS) - np.log(p + EPS))))
    return total


def exact(kind, m):
    Q, Qbar = matrices(kind)
    total = 0.0
    for t in range(1, T + 1):
        tt = float(np.float32(t / T))
        for a in range(V):
            for b in range(V):
                pj = Qbar[t][X0[0], a] * Qbar[t][X0[1], b]
                if pj == 0:
                    continue
                total += pj * term(Q, Qbar, t, (a, b), model(m, (a, b), tt))  # (1/T)·T cancels
    return total + prior(kind, Qbar)


# ---- Philox4x32-10 (Salmon et al. 2011) and the draws of lib/core/rng.c
def philox(ctr, key):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(10):
        p0, p1 = 0xD2511F53 * c0, 0xCD9E8D57 * c2
        c0, c1, c2, c3 = ((p1 >> 32) ^ c1 ^ k0) & 0xFFFFFFFF, p1 & 0xFFFFFFFF, ((p0 >> 32) ^ c3 ^ k1) & 0xFFFFFFFF, \
            p0 & 0xFFFFFFFF
        k0, k1 = (k0 + 0x9E3779B9) & 0xFFFFFFFF, (k1 + 0xBB67AE85) & 0xFFFFFFFF
    return c0, c1, c2, c3


def uniform(seed, step, pos, draw):
    w = philox((step, pos, draw, 0), (seed & 0xFFFFFFFF, seed >> 32))
    return (((w[0] >> 5) << 26 | (w[1] >> 6)) + 0.5) * 2.0 ** -53


def sampled(kind, m):
    Q, Qbar = matrices(kind)
    b = betas()
    keep = [1.0]
    for t in range(1, T + 1):
        keep.append(keep[-1] * (1 - b[t]))
    vals = []
    for k in range(SAMPLES):
        t = min(1 + int(uniform(SEED, k, 0xFFFFFFFF, 0) * T), T)
        xt = []
        for i in range(N):
            if uniform(SEED, k, i, 0) < keep[t]:
                xt.append(X0[i])
            elif kind == 'absorbing':
                xt.append(MASK)
            else:
                xt.append(min(int(uniform(SEED, k, i, 1) * V), V - 1))
        vals.append(T * term(Q, Qbar, t, xt, model(m, xt, float(np.float32(t / T)))))
    vals = np.array(vals)
    se = math.sqrt(max(np.var(vals, ddof=1), 0.0) / SAMPLES)
    return float(np.mean(vals)) + prior(kind, Qbar), se


def main():
    print('# tdiff_objective_d3pm_loss goldens (make_d3pm_goldens.py; nats, total over the 2 tokens)')
    print('# kind model exact sampled(seed %d, %d samples) std_error' % (SEED, SAMPLES))
    for kind in ('uniform', 'absorbing'):
        for m in ('smooth', 'hard'):
            s, se = sampled(kind, m)
            print('%s %s %.17g %.17g %.17g' % (kind, m, exact(kind, m), s, se))


if __name__ == '__main__':
    sys.exit(main())
