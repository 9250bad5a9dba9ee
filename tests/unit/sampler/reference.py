#!/usr/bin/python3
"""Independent reference for the sampler strategies (numpy only).

Written from the algorithm descriptions (docs/sampling.md, algorithms.md §3-4,
LLaDA generate.py, Dream generation_utils.py, Fast-dLLM, llama-diffusion-cli,
MaskGIT, Mask-Predict, MDLM) in the style of those reference codes: every step
computes predictions for the WHOLE canvas and masks confidences with -inf,
where the C code works on the active set only. Shared with the C side are only
the conventions that make seeded runs comparable token for token:

  * Philox4x32-10 draws keyed by (seed, step, position, draw) (algorithms.md §8),
    uniform = ((w0 >> 5) * 2^26 + (w1 >> 6) + 0.5) * 2^-53;
  * draw indices: v for per-vocabulary draws, 0x80000000 + k for per-position
    draws (k: 0 random confidence, 1 token sample, 2 origin reveal, 3 MaskGIT
    choice noise, 4 D3PM uniform prior at step 0), position 0xFFFFFFFF + draw j
    for the j-th alg_temp pick (first-hitting: 0 position pick, 1 time jump);
  * decision math in float64 with math.exp/log/pow (the C library's libm) and
    sequential sums, ties to the lowest index / position;
  * the synthetic denoiser below.

Run:  /usr/bin/python3 reference.py > goldens.txt
"""
import math
import sys

import numpy as np

# ---------------------------------------------------------------- Philox
M0, M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK32 = np.uint64(0xFFFFFFFF)


def philox(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 over arrays of counters (uint64 arrays holding 32-bit values)."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & MASK32 for c in (c0, c1, c2, c3))
    c0, c1, c2, c3 = np.broadcast_arrays(c0, c1, c2, c3)
    k0, k1 = int(k0) & 0xFFFFFFFF, int(k1) & 0xFFFFFFFF
    for _ in range(10):
        p0 = M0 * c0
        p1 = M1 * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & MASK32
        hi1, lo1 = p1 >> np.uint64(32), p1 & MASK32
        c0, c1, c2, c3 = (hi1 ^ c1 ^ np.uint64(k0)), lo1, (hi0 ^ c3 ^ np.uint64(k1)), lo0
        k0 = (k0 + W0) & 0xFFFFFFFF
        k1 = (k1 + W1) & 0xFFFFFFFF
    return c0, c1, c2, c3


def uniform(seed, step, pos, draw):
    """Uniform doubles in (0,1); any argument may be an array."""
    w0, w1, _, _ = philox(step, pos, draw, 0, seed & 0xFFFFFFFF, seed >> 32)
    bits = ((w0 >> np.uint64(5)) << np.uint64(26)) | (w1 >> np.uint64(6))
    return (bits.astype(np.float64) + 0.5) * 2.0 ** -53


def uniform1(seed, step, pos, draw):
    return float(uniform(seed, step, pos, draw))


DRAW_RANDOM_CONF, DRAW_SAMPLE, DRAW_REVEAL, DRAW_CHOICE = 0x80000000, 0x80000001, 0x80000002, 0x80000003
DRAW_INIT = 0x80000004
POS_GLOBAL = 0xFFFFFFFF

# ---------------------------------------------------------------- synthetic denoiser
V, MASK, EOS = 48, 47, 46
TABLE_SEED, TABLE_ROWS = 0x5EED, 64
# logits(x)[i, v] = A[i % 64, v] + B[x[i-1 mod n], v]   (float32 add)
A = (8.0 * (uniform(TABLE_SEED, 1, np.arange(TABLE_ROWS)[:, None], np.arange(V)[None, :]) - 0.5)).astype(np.float32)
B = (4.0 * (uniform(TABLE_SEED, 2, np.arange(V)[:, None], np.arange(V)[None, :]) - 0.5)).astype(np.float32)


def net(x):
    x = np.asarray(x)
    n = len(x)
    left = x[(np.arange(n) - 1) % n]
    return A[np.arange(n) % TABLE_ROWS] + B[left]


def logits_cfg(x, fixed, cfg):
    c = net(x)
    if cfg <= 0:
        return c
    ux = np.where(fixed, MASK, x)
    u = net(ux)
    w1 = np.float32(cfg) + np.float32(1.0)
    return u + w1 * (c - u)


# ---------------------------------------------------------------- float64 pieces (libm, sequential)
def prepare(row32, banned):
    row = [float(v) for v in row32]
    for v in banned:
        row[v] = -math.inf
    return row


def softmax(row):
    mx = max(row)
    if mx == -math.inf:
        return [0.0] * len(row)
    e = [0.0 if r == -math.inf else math.exp(r - mx) for r in row]
    s = 0.0
    for q in e:
        s += q
    return [q / s for q in e]


def argmax(row):
    best = 0
    for i in range(1, len(row)):
        if row[i] > row[best]:
            best = i
    return best


def order_desc(vals):
    return sorted(range(len(vals)), key=lambda i: (-vals[i], i))


def top_k_torch(row, k):
    if k == 0 or k >= len(row):
        return row
    kth = sorted(row, reverse=True)[k - 1]
    return [-math.inf if r < kth else r for r in row]


def top_p_hf(row, p):
    if p >= 1.0:
        return row
    o = order_desc(row)
    probs = softmax([row[i] for i in o])
    out = list(row)
    cum = 0.0
    for j, i in enumerate(o):
        if j > 0 and cum > p:
            out[i] = -math.inf
        cum += probs[j]
    return out


def top_k_llamacpp(row, k):
    if k == 0 or k >= len(row):
        return row
    o = order_desc(row)
    out = list(row)
    for i in o[k:]:
        out[i] = -math.inf
    return out


def top_p_llamacpp(row, p):
    if p >= 1.0:
        return row
    o = order_desc(row)
    probs = softmax([row[i] for i in o])
    cum, keep = 0.0, len(row)
    for j in range(len(o)):
        cum += probs[j]
        if cum >= p:
            keep = j + 1
            break
    out = list(row)
    for i in o[keep:]:
        out[i] = -math.inf
    return out


def sample(p, u):
    acc, last = 0.0, 0
    for i, q in enumerate(p):
        if q <= 0.0:
            continue
        acc += q
        last = i
        if u < acc:
            return i
    return last


def confidence(remask, p, tok, seed, step, pos):
    if remask == "random":
        return uniform1(seed, step, pos, DRAW_RANDOM_CONF)
    if remask == "topk_margin":
        s = sorted(p, reverse=True)
        return s[0] - s[1]
    if remask == "entropy":
        acc = 0.0
        for q in p:
            acc += q * math.log(q + 1e-10)
        return acc
    return p[tok]


# ---------------------------------------------------------------- predictions
def predict(style, row32, c, seed, step, pos):
    """(token, confidence, probabilities) for one position."""
    T, remask = c["temp"], c["remask"]
    row = prepare(row32, c["banned"])
    if style == "llada":
        row = top_p_hf(top_k_torch(row, c["topk"]), c["topp"])
        if T > 0:
            u = uniform(seed, step, pos, np.arange(V))
            noisy = [math.exp(row[v]) / math.pow(-math.log(float(u[v])), T) for v in range(V)]
            x0 = argmax(noisy)
        else:
            x0 = argmax(row)
        p = softmax(row)
    else:
        if style == "dream":
            if T > 0:
                row = [r / T for r in row]
            row = top_k_torch(top_p_hf(row, c["topp"]), c["topk"])
        else:  # llama.cpp chain
            row = top_p_llamacpp(top_k_llamacpp(row, c["topk"]), c["topp"])
            if T > 0:
                row = [r / T for r in row]
        p = softmax(row)
        if style == "llamacpp" or T > 0:
            x0 = sample(p, uniform1(seed, step, pos, DRAW_SAMPLE))
        else:
            x0 = argmax(p)
    conf = confidence(remask, p, x0, seed, step, pos)
    if c["eos_inf"] and x0 == EOS:
        conf = -math.inf
    return x0, conf, p


# ---------------------------------------------------------------- schedules (as their references compute them)
def llada_counts(m, steps):
    base, rem = divmod(m, steps)
    return [base + (1 if i < rem else 0) for i in range(steps)]


def linspace_f32(start, end, n, i):
    step = np.float32((np.float32(end) - np.float32(start)) / np.float32(n - 1))
    if i < n // 2:
        return np.float32(float(step) * i + float(np.float32(start)))  # one rounding (fma)
    return np.float32(-float(step) * (n - i - 1) + float(np.float32(end)))


def dream_count(n_masked, i, steps, eps):
    if i == steps - 1:
        return n_masked
    t = linspace_f32(1.0, eps, steps + 1, i)
    s = linspace_f32(1.0, eps, steps + 1, i + 1)
    frac = np.float32(np.float32(1.0) - s / t)
    k = np.float32(np.float32(n_masked) * frac)
    return min(int(k), n_masked) if k > 0 else 0


def llamacpp_timestep_count(step, steps, n_masked, eps):
    f = np.float32
    t = f(1.0) - f(f(step) / f(steps)) * f(f(1.0) - f(eps))
    s = f(1.0) - f(f(step + 1) / f(steps)) * f(f(1.0) - f(eps))
    p = f(f(1.0) - s / t) if step < steps - 1 else f(1.0)
    return int(f(f(n_masked) * p))


def maskgit_remasked(n0, nm, i, steps):
    if i == steps - 1 or nm == 0:
        return 0
    ratio = (i + 1) / steps
    gamma = np.float32(math.cos(float(np.float32(math.pi / 2.0 * ratio))))
    ln = math.floor(float(np.float32(np.float32(n0) * gamma)))
    return max(1, min(nm - 1, ln))


def mask_predict_count(n, it, iters):
    return int(np.float32(np.float32(n) * np.float32(1.0 - it / iters)))


# ---------------------------------------------------------------- selection
def pick_topk(conf, cands, k):
    """cands: positions eligible (ascending); highest conf first, ties lowest position."""
    return sorted(cands, key=lambda i: (-conf[i], i))[:k]


def pick_sampled(conf, cands, k, alg_temp, seed, step):
    scaled = [conf[i] / alg_temp for i in cands]
    mx = max(scaled)
    w = [0.0 if (mx == -math.inf or conf[i] == -math.inf) else math.exp(conf[i] / alg_temp - mx) for i in cands]
    chosen = []
    for j in range(min(k, len(cands))):
        total = 0.0
        for q in w:
            total += q
        if total > 0:
            target = uniform1(seed, step, POS_GLOBAL, j) * total
            acc, pick = 0.0, None
            for a, q in enumerate(w):
                if q <= 0:
                    continue
                acc += q
                pick = a
                if target < acc:
                    break
        else:
            pick = next(a for a in range(len(cands)) if cands[a] not in chosen)
        chosen.append(cands[pick])
        w[pick] = 0.0
    return chosen


# ---------------------------------------------------------------- strategies
def run_masked(c, x, fixed, region_start):
    """llada / dream / threshold / factor / llama.cpp compat over the canvas x."""
    strategy, n = c["strategy"], len(x)
    seed, steps, eps = c["seed"], c["steps"], c["eps"]
    adaptive = strategy in ("threshold", "factor")
    style = "llamacpp" if c["compat"] else ("dream" if strategy == "dream" else "llada")
    region = n - region_start
    Bl = c["block"]
    timestep = (Bl == 0) if c["compat"] else strategy == "dream"
    if Bl == 0 or Bl > region:
        Bl, nblocks = region, 1
    elif c["compat"]:
        assert n % Bl == 0
        nblocks = n // Bl
    else:
        nblocks = -(-region // Bl)
    spb = steps if adaptive else steps // nblocks
    assert adaptive or steps % nblocks == 0
    step = 0
    for b in range(nblocks):
        lo = min(region_start + b * Bl, n)
        hi = min(lo + Bl, n)
        in_block = [lo <= i < hi for i in range(n)]
        masked = lambda: [i for i in range(n) if x[i] == MASK and not fixed[i] and in_block[i]]
        counts = None if (adaptive or timestep) else llada_counts(len(masked()), spb)
        i = 0
        while adaptive or i < spb:
            cands = masked()
            if not cands:
                if adaptive:
                    break
                i += 1
                step += 1
                continue
            if c["remask"] == "origin":
                k = 1
            elif adaptive:
                k = len(cands)
            elif not timestep:
                k = counts[i]
            elif c["compat"]:
                k = llamacpp_timestep_count(i, spb, len(cands), eps)
            else:
                k = dream_count(len(cands), i, spb, eps)
            if k > 0:
                logits = logits_cfg(x, fixed, c["cfg"])
                x0 = list(x)
                conf = [-math.inf] * n
                for pos in range(n):  # the whole canvas, as the references do
                    if x[pos] == MASK and not fixed[pos]:
                        x0[pos], cf, _ = predict(style, logits[pos], c, seed, step, pos)
                        if in_block[pos]:
                            conf[pos] = cf
                if c["remask"] == "origin":
                    if c["compat"]:
                        cnt = llamacpp_timestep_count(i, spb, len(cands), eps) if timestep else counts[i]
                        pr = float(np.float32(np.float32(cnt) / np.float32(len(cands))))
                    else:
                        if i < spb - 1:
                            t = linspace_f32(1.0, eps, spb + 1, i)
                            s = linspace_f32(1.0, eps, spb + 1, i + 1)
                            pr = float(np.float32(np.float32(1.0) - s / t))
                        else:
                            pr = 1.0
                    if i == spb - 1:  # the block's last step reveals what is left (llama.cpp's may not)
                        pr = 1.0
                    chosen = [p for p in cands if uniform1(seed, step, p, DRAW_REVEAL) < pr]
                elif strategy == "threshold":
                    o = sorted(cands, key=lambda q: (-conf[q], q))
                    chosen = [o[0]] + [q for q in o[1:] if conf[q] >= c["threshold"]]
                elif strategy == "factor":
                    o = sorted(cands, key=lambda q: (-conf[q], q))
                    chosen = [o[0]]
                    for j in range(1, len(o)):
                        if conf[o[j]] < 1.0 - c["factor"] / (j + 2):
                            break
                        chosen.append(o[j])
                elif c["alg_temp"] > 0:
                    chosen = pick_sampled(conf, cands, k, c["alg_temp"], seed, step)
                else:
                    chosen = pick_topk(conf, cands, k)
                for p in chosen:
                    x[p] = x0[p]
            i += 1
            step += 1
    return x


def run_maskgit(c, x, fixed, region_start):
    n, seed, steps = len(x), c["seed"], c["steps"]
    gen = [i for i in range(region_start, n) if x[i] == MASK and not fixed[i]]
    n0 = len(gen)
    for i in range(steps):
        cands = [p for p in gen if x[p] == MASK]
        if not cands:
            break
        keep = maskgit_remasked(n0, len(cands), i, steps)
        logits = logits_cfg(x, fixed, c["cfg"])
        ratio = (i + 1) / steps
        conf, x0 = {}, {}
        for p in cands:
            tok, pr, _ = predict("dream", logits[p], dict(c, remask="low_confidence"), seed, i, p)
            g = -math.log(-math.log(uniform1(seed, i, p, DRAW_CHOICE))) if c["alg_temp"] > 0 else 0.0
            conf[p] = math.log(pr) + c["alg_temp"] * (1.0 - ratio) * g
            x0[p] = tok
        for p in pick_topk(conf, cands, len(cands) - keep):
            x[p] = x0[p]
    return x


def run_mask_predict(c, x, fixed, region_start):
    n, seed, steps = len(x), c["seed"], c["steps"]
    gen = [i for i in range(region_start, n) if x[i] == MASK and not fixed[i]]
    prob = {}
    for it in range(steps):
        if it > 0:
            nm = mask_predict_count(len(gen), it, steps)
            if nm == 0:
                break
            for p in sorted(gen, key=lambda q: (prob[q], q))[:nm]:
                x[p] = MASK
        cands = [p for p in gen if x[p] == MASK]
        if not cands:
            break
        logits = logits_cfg(x, fixed, c["cfg"])
        new = {}
        for p in cands:
            tok, pr, _ = predict("dream", logits[p], dict(c, remask="low_confidence"), seed, it, p)
            new[p] = tok
            prob[p] = pr
        for p in cands:
            x[p] = new[p]
    return x


def run_mdlm(c, x, fixed, region_start):
    n, seed, steps, eps = len(x), c["seed"], c["steps"], c["eps"]
    dt = (1.0 - eps) / steps
    for i in range(steps + 1):
        cands = [p for p in range(region_start, n) if x[p] == MASK and not fixed[p]]
        if not cands:
            break
        last = i == steps
        t = eps if last else 1.0 + i * (eps - 1.0) / steps
        logits = net(x)  # the network is not time-conditioned: ddpm_cache gives the same tokens
        mt, ms = (1.0 - 1e-3) * t, (1.0 - 1e-3) * (t - dt)
        new = {}
        for p in cands:
            px0 = softmax(prepare(logits[p], c["banned"]))
            if last:
                new[p] = argmax(px0)
                continue
            q = [v * (mt - ms) for v in px0]
            q[MASK] = ms
            u = uniform(seed, i, p, np.arange(V))
            best, pick = -1.0, MASK
            for v in range(V):
                score = q[v] / -math.log(float(u[v]))
                if score > best:
                    best, pick = score, v
            new[p] = pick
        for p in cands:
            x[p] = new[p]
    return x


def d3pm_posterior_logits(kind, T, t, x, p0):
    """The reference's x0-parameterised reverse step (diffusion_categorical.py,
    q_posterior_logits with x_start_logits) on the linear (D3PM absorbing) schedule
    beta_s = 1/(T-s+1), abar_t = prod (1 - beta_s), in log space with its 1e-6 floor:
    log(Q_t[:, x] + 1e-6) + log(p0 Qbar_{t-1} + 1e-6)."""
    beta = [0.0] + [1.0 / (T - s + 1) for s in range(1, T + 1)]
    abar = [1.0]
    for s_ in range(1, T + 1):
        abar.append(abar[-1] * (1.0 - beta[s_]))
    b, a = beta[t], abar[t - 1]
    if kind == "uniform":
        col = [b / V] * V
        col[x] += 1.0 - b
    elif x == MASK:
        col = [b] * V
        col[x] = 1.0
    else:
        col = [0.0] * V
        col[x] = 1.0 - b
    total = 0.0
    for q in p0:
        total += q
    cum = [a * q for q in p0]
    if kind == "uniform":
        cum = [q + (1.0 - a) / V * total for q in cum]
    else:
        cum[MASK] += (1.0 - a) * total
    return [math.log(col[j] + 1e-6) + math.log(cum[j] + 1e-6) for j in range(V)]


def sample_weights(w, u):
    """Inverse CDF over non-negative weights with target u * total (zero weights never chosen)."""
    total = 0.0
    for q in w:
        total += q
    target, acc, last = u * total, 0.0, None
    for i, q in enumerate(w):
        if q <= 0.0:
            continue
        acc += q
        last = i
        if target < acc:
            return i
    assert last is not None, 'no allowed token has weight'
    return last


def sample_allowed(w, banned, u, keep_mask=False):
    if keep_mask:
        banned = [b for b in banned if b != MASK]
    total = 0.0
    for v in range(V):
        if v not in banned:
            total += float(w[v])
    target, acc, last = u * total, 0.0, None
    for v in range(V):
        if v in banned or not w[v] > 0:
            continue
        acc += float(w[v])
        last = v
        if target < acc:
            return v
    assert last is not None, 'no allowed token has weight'
    return last


def run_d3pm(c, x, fixed, region_start):
    """Ancestral sampling t = T..1 as the reference's p_sample: for t > 1 a draw from
    softmax of the floored log posterior (restricted to allowed tokens; the absorbing
    graph keeps the mask as a state), at t = 1 the arg-max of p~(x0 | x1) itself.
    Prior: the mask (absorbing) or a uniform allowed token."""
    n, seed, T, kind = len(x), c["seed"], c["steps"], c["d3pm_kind"]
    region = [p for p in range(region_start, n) if x[p] == MASK and not fixed[p]]
    if kind == "uniform":
        allowed = [v for v in range(V) if v not in c["banned"]]
        for p in region:
            x[p] = allowed[int(uniform1(seed, 0, p, DRAW_INIT) * len(allowed))]
    for i in range(T):
        t = T - i
        logits = net(x)
        new = {}
        for p in region:
            p0 = softmax(prepare(logits[p], c["banned"]))
            if t == 1:
                new[p] = argmax(p0)
                continue
            w = d3pm_posterior_logits(kind, T, t, x[p], p0)
            for v in range(V):
                if (v in c["banned"] or v == MASK) and not (kind == "absorbing" and v == MASK):
                    w[v] = -math.inf
            new[p] = sample_weights(softmax(w), uniform1(seed, i, p, DRAW_SAMPLE))
        for p in region:
            x[p] = new[p]
    return x


def sedd_rate_into(kind, y, x):
    if y == x:
        return 0.0
    if kind == "uniform":
        return 1.0 / V
    return 1.0 if x == MASK else 0.0


def sedd_normalise(row):
    z = 0.0
    for q in row:
        z += q if q > 0.0 else 0.0
    return np.array([q / z if q > 0.0 else 0.0 for q in row], dtype=np.float32)


def sedd_euler(kind, x, sc, dsig):
    row, out_rate = [0.0] * V, 0.0
    for y in range(V):
        ry = sedd_rate_into(kind, y, x) * float(sc[y])
        row[y] = dsig * ry
        out_rate += ry
    row[x] = 1.0 - dsig * out_rate
    return sedd_normalise(row)


def sedd_analytic(kind, x, sc, dsig, drop_mask):
    emin = math.exp(-dsig)
    total = 0.0
    for q in sc:
        total += float(q)
    row = [0.0] * V
    if kind == "uniform":
        off = (1.0 - emin) / V
        for y in range(V):
            stag = (emin - 1.0) / (V * emin) * total + float(sc[y]) / emin
            row[y] = stag * ((1.0 - (V - 1) * off) if y == x else off)
    else:
        epos = math.exp(dsig)
        for y in range(V):
            stag = float(sc[y]) * epos + ((1.0 - epos) * total if y == MASK else 0.0)
            if x == MASK:
                tr = 1.0 if y == MASK else 1.0 - emin
            else:
                tr = emin if y == x else 0.0
            row[y] = stag * tr
        if drop_mask:
            row[MASK] = 0.0
    return sedd_normalise(row)


def run_sedd(c, x, fixed, region_start):
    """Log-linear schedule (epsilon 1e-3): sigma_bar = -log1p(-(1-1e-3)t), sigma' = (1-1e-3)/(1-(1-1e-3)t)."""
    n, seed, steps, eps, kind = len(x), c["seed"], c["steps"], c["eps"], c["d3pm_kind"]
    euler = c["strategy"] == "sedd_euler"
    sigma = lambda t: -math.log1p(-(1.0 - 1e-3) * t)
    rate = lambda t: (1.0 - 1e-3) / (1.0 - (1.0 - 1e-3) * t)
    region = [p for p in range(region_start, n) if x[p] == MASK and not fixed[p]]
    if kind == "uniform":
        allowed = [v for v in range(V) if v not in c["banned"]]
        for p in region:
            x[p] = allowed[int(uniform1(seed, 0, p, DRAW_INIT) * len(allowed))]
    dt = (1.0 - eps) / steps
    for i in range(steps + 1):
        last = i == steps
        t = eps if last else 1.0 + i * (eps - 1.0) / steps
        if last:
            dsig = sigma(t)
        elif euler:
            dsig = rate(t) * dt
        else:
            dsig = sigma(t) - sigma(t - dt)
        logits = net(x)
        new = {}
        for p in region:
            sc = np.array([0.0 if (v in c["banned"] and v != MASK) else math.exp(float(logits[p][v]))
                           for v in range(V)], dtype=np.float32)
            out = sedd_euler(kind, x[p], sc, dsig) if (euler and not last) else \
                sedd_analytic(kind, x[p], sc, dsig, last)
            new[p] = sample_allowed(out, c["banned"], uniform1(seed, i, p, DRAW_SAMPLE),
                                    keep_mask=kind == "absorbing" and not last)
        for p in region:
            x[p] = new[p]
    return x


def run_first_hitting(c, x, fixed, region_start):
    n, seed = len(x), c["seed"]
    step, t = 0, 1.0
    while True:
        cands = [p for p in range(region_start, n) if x[p] == MASK and not fixed[p]]
        if not cands:
            break
        k = min(int(uniform1(seed, step, POS_GLOBAL, 0) * len(cands)), len(cands) - 1)
        p = cands[k]
        tok, _, _ = predict("dream", net(x)[p], dict(c, remask="low_confidence"), seed, step, p)
        x[p] = tok
        t *= math.pow(uniform1(seed, step, POS_GLOBAL, 1), 1.0 / len(cands))
        step += 1
    return x


def run_ar(c, x, fixed, region_start):
    """Autoregressive decoding (docs/sampling.md, `ar`): the positions that are not
    fixed, left to right, one per step, Dream's chain; a drawn EOS with no fixed
    position after it ends the run and fills the rest with EOS."""
    n, seed = len(x), c["seed"]
    last_fixed = max([i + 1 for i in range(n) if fixed[i]], default=0)
    step = 0
    for p in range(region_start, n):
        if fixed[p]:
            continue
        tok, _, _ = predict("dream", net(x)[p], dict(c, remask="low_confidence"), seed, step, p)
        x[p] = tok
        step += 1
        if tok == EOS and p + 1 >= last_fixed:
            x[p + 1:] = [EOS] * (n - p - 1)
            break
    return x


RUNNERS = {"llada": run_masked, "dream": run_masked, "threshold": run_masked, "factor": run_masked,
           "maskgit": run_maskgit, "mask_predict": run_mask_predict, "mdlm": run_mdlm, "mdlm_cache": run_mdlm,
           "d3pm": run_d3pm, "first_hitting": run_first_hitting, "sedd_euler": run_sedd,
           "sedd_analytic": run_sedd, "ar": run_ar}

DEFAULTS = dict(strategy="llada", remask="low_confidence", steps=16, gen=16, block=0, temp=0.0, topk=0, topp=1.0,
                cfg=0.0, threshold=0.9, factor=1.0, alg_temp=0.0, eps=1e-3, seed=0, compat=0, eos_inf=0,
                prompt="", canvas="", banned="", d3pm_kind="")


def run_case(c):
    c = dict(DEFAULTS, **c)
    c["banned"] = [MASK] + ([int(t) for t in c["banned"].split(",")] if c["banned"] else [])
    if c["canvas"]:
        x = [int(t) for t in c["canvas"].split(",")]
        fixed = [t != MASK for t in x]
        start = fixed.index(False)
    else:
        prompt = [int(t) for t in c["prompt"].split(",")] if c["prompt"] else []
        total = c["gen"] if c["compat"] else len(prompt) + c["gen"]
        x = prompt + [MASK] * (total - len(prompt))
        fixed = [i < len(prompt) for i in range(total)]
        start = len(prompt)
    out = RUNNERS[c["strategy"]](c, list(x), fixed, start)
    return out if c["canvas"] else out[start:]


P = "3,17,29,5"
CASES = [
    # name, parameters (defaults above)
    ("llada_greedy_one_block", dict(prompt=P, gen=16, steps=16)),
    ("llada_greedy_blocks", dict(prompt=P, gen=24, steps=12, block=8)),
    ("llada_steps_fewer_than_tokens", dict(prompt=P, gen=16, steps=5)),
    ("llada_gumbel_t1", dict(prompt=P, gen=16, steps=8, block=8, temp=1.0, seed=7)),
    ("llada_gumbel_t07", dict(prompt=P, gen=16, steps=16, temp=0.7, seed=12345678901)),
    ("llada_random_remask", dict(prompt=P, gen=16, steps=8, remask="random", seed=3)),
    ("llada_cfg", dict(prompt=P, gen=16, steps=8, block=8, cfg=1.5)),
    ("llada_eos_inf", dict(prompt=P, gen=16, steps=4, eos_inf=1)),
    ("llada_banned", dict(prompt=P, gen=16, steps=8, banned="10,11,12,13,14,15,16,17,18,19,20")),
    ("llada_topk_topp", dict(prompt=P, gen=16, steps=8, temp=1.0, topk=5, topp=0.8, seed=11)),
    ("dream_maskgit_plus_greedy", dict(strategy="dream", prompt=P, gen=16, steps=16)),
    ("dream_maskgit_plus_few_steps", dict(strategy="dream", prompt=P, gen=20, steps=6)),
    ("dream_topk_margin", dict(strategy="dream", remask="topk_margin", prompt=P, gen=16, steps=8)),
    ("dream_entropy", dict(strategy="dream", remask="entropy", prompt=P, gen=16, steps=8)),
    ("dream_sampled_t", dict(strategy="dream", prompt=P, gen=16, steps=8, temp=0.8, topp=0.9, topk=10, seed=5)),
    ("dream_alg_temp", dict(strategy="dream", prompt=P, gen=16, steps=8, temp=0.5, alg_temp=0.3, seed=9)),
    ("dream_origin", dict(strategy="dream", remask="origin", prompt=P, gen=16, steps=8, temp=1.0, seed=21)),
    ("compat_origin_blocks", dict(strategy="llada", remask="origin", prompt=P, gen=32, steps=8, block=16, temp=0.0,
                                  topk=1, compat=1, seed=10)),  # without the last-step rule: 6 masks left
    ("dream_eps", dict(strategy="dream", prompt=P, gen=32, steps=10, eps=0.05)),
    ("threshold_0_9", dict(strategy="threshold", prompt=P, gen=16, block=8)),
    ("threshold_0_5_gumbel", dict(strategy="threshold", prompt=P, gen=16, threshold=0.5, temp=1.0, seed=4)),
    ("factor_1", dict(strategy="factor", prompt=P, gen=16, block=8, factor=1.0)),
    ("factor_3", dict(strategy="factor", prompt=P, gen=16, factor=3.0)),
    ("compat_block_greedy", dict(compat=1, prompt=P + ",9,9,9,9,9,9,9,9,9", gen=32, steps=8, block=8, topk=1)),
    ("compat_block_sampled", dict(compat=1, prompt=P, gen=32, steps=8, block=16, temp=0.8, topk=40, topp=0.95,
                                  seed=2)),
    ("compat_timestep", dict(compat=1, prompt=P, gen=24, steps=10, eps=0.001, topk=1)),
    ("compat_margin", dict(compat=1, remask="topk_margin", prompt=P, gen=24, steps=6, block=8, topk=3, seed=8)),
    ("maskgit_greedy", dict(strategy="maskgit", prompt=P, gen=16, steps=6)),
    ("maskgit_choice_temp", dict(strategy="maskgit", prompt=P, gen=16, steps=6, alg_temp=4.5, temp=1.0, seed=6)),
    ("mask_predict", dict(strategy="mask_predict", prompt=P, gen=16, steps=5)),
    ("mdlm_ddpm", dict(strategy="mdlm", prompt=P, gen=16, steps=12, eps=1e-5, seed=1)),
    ("mdlm_ddpm_cache", dict(strategy="mdlm_cache", prompt=P, gen=16, steps=40, eps=1e-5, seed=1)),
    ("d3pm_absorbing", dict(strategy="d3pm", d3pm_kind="absorbing", prompt=P, gen=16, steps=10, seed=31)),
    ("d3pm_uniform", dict(strategy="d3pm", d3pm_kind="uniform", prompt=P, gen=16, steps=10, seed=32)),
    ("sedd_euler_absorbing", dict(strategy="sedd_euler", d3pm_kind="absorbing", prompt=P, gen=16, steps=12,
                                  eps=1e-5, seed=51)),
    ("sedd_analytic_absorbing", dict(strategy="sedd_analytic", d3pm_kind="absorbing", prompt=P, gen=16, steps=12,
                                     eps=1e-5, seed=52)),
    ("sedd_euler_uniform", dict(strategy="sedd_euler", d3pm_kind="uniform", prompt=P, gen=16, steps=12, seed=53)),
    ("sedd_analytic_uniform", dict(strategy="sedd_analytic", d3pm_kind="uniform", prompt=P, gen=16, steps=12,
                                   seed=54)),
    ("first_hitting_greedy", dict(strategy="first_hitting", prompt=P, gen=16, seed=41)),
    ("first_hitting_sampled", dict(strategy="first_hitting", prompt=P, gen=16, temp=1.0, seed=42)),
    ("ar_greedy", dict(strategy="ar", prompt=P, gen=24)),
    ("ar_sampled", dict(strategy="ar", prompt=P, gen=24, temp=0.8, topk=10, topp=0.9, seed=61)),
    ("ar_temp1", dict(strategy="ar", prompt=P, gen=24, temp=1.0, seed=62)),
    ("ar_banned", dict(strategy="ar", prompt=P, gen=16, banned="40,41,42,43", temp=0.5, seed=63)),
    ("ar_infill", dict(strategy="ar", canvas="3,47,47,47,29,5,47,47,12", temp=0.7, seed=64)),
    ("infill_llada", dict(canvas="3,17,47,47,47,47,29,5,47,47,12", steps=6, block=0)),
    ("infill_llada_blocks", dict(canvas="3,47,47,47,47,47,29,5,47,47,47,12", steps=6, block=4)),
    ("infill_dream", dict(strategy="dream", canvas="47,47,3,17,47,47,47,5", steps=5, temp=0.5, seed=99)),
]

KEYS = ["strategy", "remask", "steps", "gen", "block", "temp", "topk", "topp", "cfg", "threshold", "factor",
        "alg_temp", "eps", "seed", "compat", "eos_inf"]


def main():
    out = sys.stdout
    out.write("# goldens.txt -- made by reference.py (numpy); do not edit by hand.\n")
    out.write("# name key=value... expect=tokens  (generate: tokens after the prompt; infill: the canvas)\n")
    for name, params in CASES:
        c = dict(DEFAULTS, **params)
        toks = run_case(params)
        fields = [name] + ["%s=%s" % (k, repr(c[k]) if isinstance(c[k], float) else c[k]) for k in KEYS]
        for k in ("prompt", "canvas", "banned", "d3pm_kind"):
            if c[k]:
                fields.append("%s=%s" % (k, c[k]))
        fields.append("expect=" + ",".join(str(int(t)) for t in toks))
        out.write(" ".join(fields) + "\n")


if __name__ == "__main__":
    main()
