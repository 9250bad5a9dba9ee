"""make_trajectory_goldens.py -- whole sampling trajectories at a fixed seed,
run in float64 by the PyTorch reference network (reference.py) and a sampler
loop written here from the algorithm descriptions (../../docs/algorithms.md
§5-6, docs/sampling.md, docs/softmask.md), with the random draws supplied
exactly as the library keys them (Philox4x32-10, algorithms.md §8; the numpy
Philox of tests/unit/sampler/reference.py). test_trajectory_parity.c replays
every case through the public API and compares every step.

Cases:
  emb_*  continuous embedding diffusion (Diffusion-LM) on the time-conditioned
         DiT dit-f32.gguf: x_T ~ N(0, I), DDPM or DDIM steps on the discrete
         sqrt / cosine schedule, x0-hat from softmax(logits / temperature)
         (E[argmax] at temperature 0), optional clamping, infilling.
  sm_*   soft-masked sampling (k = 3, s = 0.6, c near the models' typical
         negative entropy so the gate is open ~0.3): llada greedy in one and
         in two blocks, dream (shifted logits, eps timesteps), the threshold
         rule, and MDLM ancestral steps on the DiT (time conditioning and soft
         masks together).

Discrete decisions (arg-max tokens, clamping's nearest row, top-k commits,
threshold tests, MDLM's exponential race, the soft mask's top-k set) must not
sit on a float32 rounding edge, or the test would depend on the SIMD variant.
Every decision's margin along the reference trajectory is measured; a case
tries prompts / seeds in a fixed order and keeps the first whose smallest
margin clears MIN_GAP (printed). Each case must also change far beyond the
tolerance when the network's t, the noise keying or the soft mask is altered
(printed as "ablations"), so the C test has the power it claims.
Deterministic output.

Run: /usr/bin/python3 tests/parity/make_trajectory_goldens.py  (needs torch and
the models of make_goldens.py; CI needs only the written file)

data/trajectories.txt, one block per case:
  case NAME / model FILE / run generate N_PROMPT | run infill
  canvas N tok...                 (the start canvas; MASK where text is wanted)
  int PARAM VALUE / float PARAM VALUE   (tdiff_sampler_param names without TDIFF_SAMPLER_)
  softmask K RAW_S RAW_C RAW_A    (soft-mask cases only)
  tol REL ABS                     (|conf - ref| <= REL * |ref| + ABS)
  margin X                        (smallest decision margin, informative)
  steps S, then S times:  step INDEX tok... (canvas after the step) / conf c... (nan: not predicted)
  end
"""
import importlib.util
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
sys.path.insert(0, HERE)
import gguf  # noqa: E402
import reference  # noqa: E402

_spec = importlib.util.spec_from_file_location('sampler_reference',
                                               os.path.join(HERE, '..', 'unit', 'sampler', 'reference.py'))
sref = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(sref)

DATA = os.path.join(HERE, 'data')
MASK = 319
MIN_GAP = 5e-3      # logit units / relative gaps; the float32 library deviates by ~1e-5
TOL_REL, TOL_ABS = 1e-4, 1e-7


# ---------------------------------------------------------------- draws
def normal(seed, step, pos, dims):
    """Standard normals, Box-Muller on the two 53-bit uniforms of one Philox
    block: u1 from words 0-1, u2 from words 2-3, z = sqrt(-2 ln u1) cos(2 pi u2)."""
    w0, w1, w2, w3 = sref.philox(step, pos, np.arange(dims), 0, seed & 0xFFFFFFFF, seed >> 32)

    def to_unit(a, b):
        bits = ((a >> np.uint64(5)) << np.uint64(26)) | (b >> np.uint64(6))
        return (bits.astype(np.float64) + 0.5) * 2.0 ** -53

    u1, u2 = to_unit(w0, w1), to_unit(w2, w3)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)


def uniform_row(seed, step, pos, n):
    return sref.uniform(seed, step, pos, np.arange(n))


# ---------------------------------------------------------------- schedules (Gaussian, discrete)
def alpha_bar_cont(kind, tau):
    if kind == 'sqrt':
        return max(0.0, 1.0 - math.sqrt(tau + 1e-4))
    if kind == 'cosine':
        return math.cos((tau + 0.008) / 1.008 * math.pi / 2)
    return 1.0 - tau


def alpha_bars(kind, T):
    """Discrete abar_k = prod_{s<=k} (1 - beta_s), beta_s = 1 - abar(s/T)/abar((s-1)/T)
    clipped to [0, 1] and to 0.999 for sqrt and cosine (as the sources clip)."""
    ab = [1.0]
    for s in range(1, T + 1):
        prev = alpha_bar_cont(kind, (s - 1) / T)
        beta = 1.0 - alpha_bar_cont(kind, s / T) / prev if prev > 0 else 1.0
        beta = min(max(beta, 0.0), 1.0)
        if kind in ('sqrt', 'cosine'):
            beta = min(beta, 0.999)
        ab.append(ab[-1] * (1.0 - beta))
    return ab


SCHEDULE_ID = {'linear': 1, 'cosine': 2, 'sqrt': 6}


# ---------------------------------------------------------------- helpers
class Margins:
    def __init__(self):
        self.worst, self.where = math.inf, ''

    def add(self, value, where):
        if value < self.worst:
            self.worst, self.where = value, where


def allowed(row):
    r = np.array(row, dtype=np.float64)
    r[MASK] = -np.inf
    return r


def softmax(r):
    e = np.exp(r - r.max())
    return e / e.sum()


def top_gap(r, k=1):
    """Gap between the k-th and (k+1)-th largest entries."""
    s = np.sort(r[np.isfinite(r)])[::-1]
    return s[k - 1] - s[k]


def f32(x):
    return float(np.float32(x))


def net(g, x, t=None, embd=None):
    return reference.forward(g, x, t=t, embd=embd).numpy()


# ---------------------------------------------------------------- Diffusion-LM sampler
def run_embedding(g, c, canvas, seed, mg):
    E = reference.tensor(g, 'token_embd.weight').numpy()
    D = E.shape[1]
    T, temp, clamp, ddim = c['steps'], c['temperature'], c['clamp'], c['ddim']
    ab = alpha_bars(c['schedule'], T)
    x = list(canvas)
    active = [p for p in range(c['region'], len(x)) if x[p] == MASK]
    xt = {p: normal(seed, 0, p, D) for p in active}
    record = []
    for i, k in enumerate(range(T, 0, -1)):
        inp = E[np.asarray(x)].copy()      # fixed positions: their clean embedding
        for p in active:
            inp[p] = xt[p]
        logits = net(g, x, t=f32((k - c.get('t_shift', 0)) / T), embd=inp)
        conf = [math.nan] * len(x)
        for p in active:
            r = allowed(logits[p])
            best = int(np.argmax(r))
            mg.add(top_gap(r), 'step %d pos %d arg-max' % (i, p))
            prob = softmax(r / temp if temp > 0 else r)
            conf[p] = prob[best]
            x0 = prob @ E if temp > 0 else E[best].astype(np.float64)
            if clamp:
                d2 = ((E.astype(np.float64) - x0) ** 2).sum(1)
                order = np.argsort(d2, kind='stable')
                mg.add((d2[order[1]] - d2[order[0]]) / (x0 @ x0 + 1e-3), 'step %d pos %d clamp' % (i, p))
                x0 = E[order[0]].astype(np.float64)
            a_t, a_p = ab[k], ab[k - 1]
            if ddim:
                eps = (xt[p] - math.sqrt(a_t) * x0) / math.sqrt(1.0 - a_t)
                xt[p] = math.sqrt(a_p) * x0 + math.sqrt(1.0 - a_p) * eps
            else:
                beta = 1.0 - a_t / a_p
                c0 = math.sqrt(a_p) * beta / (1.0 - a_t)
                ct = math.sqrt(1.0 - beta) * (1.0 - a_p) / (1.0 - a_t)
                var = beta * (1.0 - a_p) / (1.0 - a_t)
                z = normal(seed, i + 1 + c.get('noise_shift', 0), p, D) if var > 0 else 0.0
                xt[p] = c0 * x0 + ct * xt[p] + math.sqrt(max(var, 0.0)) * z
            x[p] = best
        record.append((i, list(x), conf))
    return record


# ---------------------------------------------------------------- soft masking
def soft_input(E, row, sm):
    """(1 - lam) E[mask] + lam sum_j pi_j E[v_j] from the previous logits row."""
    k, s, cc, a = sm['k'], sm['s'], sm['c'], sm['a']
    r = allowed(row)
    p = softmax(r)
    nu = float(np.sum(p[p > 0] * np.log(p[p > 0])))
    lam = s / (1.0 + math.exp(-a * (nu - cc)))
    top = sorted(range(len(r)), key=lambda v: (-r[v], v))[:k]
    pi = softmax(r[top])
    return (1.0 - lam) * E[MASK] + lam * (pi @ E[top]), lam


def masked_inputs(E, x, prev, sm, lams):
    inp = E[np.asarray(x)].astype(np.float64)
    for p, row in prev.items():
        if x[p] == MASK:
            inp[p], lam = soft_input(E, row, sm)
            lams.append(lam)
    return inp


def run_masked_soft(g, c, canvas, seed, mg):
    """Greedy confidence-ordered unmasking: llada (LLaDA's transfer counts per
    block), dream (k = floor(n_masked (1 - s/t)) on Dream's float32
    linspace(1, eps, steps + 1), everything left at the last step; a step
    committing nothing makes no network call) or threshold (best + every
    conf >= threshold, until the block is done). The previous evaluation's
    rows feed the soft masks."""
    E = reference.tensor(g, 'token_embd.weight').numpy()
    sm, x, n = c['softmask'], list(canvas), len(canvas)
    region = n - c['region']
    B = c['block'] or region
    nblocks = -(-region // B)
    adaptive = c['strategy'] == 'threshold'
    timestep = c['strategy'] == 'dream'
    spb = c['steps'] if adaptive else c['steps'] // nblocks
    prev, record, step, lams = {}, [], 0, []
    for b in range(nblocks):
        lo, hi = c['region'] + b * B, min(c['region'] + (b + 1) * B, n)
        masked = lambda: [p for p in range(lo, hi) if x[p] == MASK]
        base, rem = divmod(len(masked()), spb)
        counts = [base + (1 if j < rem else 0) for j in range(spb)]
        j = 0
        while adaptive or j < spb:
            act = masked()
            if not act:
                break
            if timestep:
                kcount = sref.dream_count(len(act), j, spb, c['eps'])
                if kcount == 0:
                    j += 1
                    step += 1
                    continue
            elif not adaptive:
                kcount = counts[j]
                assert kcount > 0, 'choose steps <= masks per block'
            inp = masked_inputs(E, x, prev, sm, lams)
            logits = net(g, x, embd=inp)
            prev = {p: logits[p] for p in act}
            conf, cand = {}, {}
            for p in act:
                r = allowed(logits[p])
                cand[p] = int(np.argmax(r))
                mg.add(top_gap(r), 'step %d pos %d arg-max' % (step, p))
                mg.add(top_gap(r, sm['k']), 'step %d pos %d soft top-k set' % (step, p))
                conf[p] = softmax(r)[cand[p]]
            order = sorted(act, key=lambda p: (-conf[p], p))
            # only the order across the commit boundary decides anything
            edge = 1 if adaptive else kcount
            if edge < len(order):
                a_, b_ = order[edge - 1], order[edge]
                mg.add((conf[a_] - conf[b_]) / conf[a_], 'step %d commit boundary %d/%d' % (step, a_, b_))
            if adaptive:
                th = c['threshold']
                chosen = [order[0]] + [p for p in order[1:] if conf[p] >= th]
                for p in order[1:]:
                    mg.add(abs(conf[p] - th) / th, 'step %d pos %d threshold' % (step, p))
            else:
                chosen = order[:kcount]
            for p in chosen:
                x[p] = cand[p]
            record.append((step, list(x), [conf.get(p, math.nan) for p in range(n)]))
            j += 1
            step += 1
    return record, lams


def run_mdlm_soft(g, c, canvas, seed, mg):
    """MDLM ddpm: t_i = 1 + i (eps - 1)/steps, move chance (1 - 1e-3) t, q(v) =
    p(v)(m_t - m_s), q(mask) = m_s, exponential race argmax q(v)/(-log u_v);
    a final arg-max pass at t = eps. The network is told the total noise
    sigma_bar(t) = -log1p(-(1 - 1e-3) t), what MDLM's backbone receives
    (diffusion.py, _process_sigma with time conditioning)."""
    E = reference.tensor(g, 'token_embd.weight').numpy()
    sm, x, steps, eps = c['softmask'], list(canvas), c['steps'], c['eps']
    dt = (1.0 - eps) / steps
    prev, record, lams = {}, [], []
    for i in range(steps + 1):
        act = [p for p in range(c['region'], len(x)) if x[p] == MASK]
        if not act:
            break
        last = i == steps
        t = eps if last else 1.0 + i * (eps - 1.0) / steps
        inp = masked_inputs(E, x, prev, sm, lams)
        mt, ms = (1.0 - 1e-3) * t, (1.0 - 1e-3) * (t - dt)
        logits = net(g, x, t=f32(-math.log1p(-mt)), embd=inp)
        prev = {p: logits[p] for p in act}
        conf, new = [math.nan] * len(x), {}
        for p in act:
            r = allowed(logits[p])
            mg.add(top_gap(r, sm['k']), 'step %d pos %d soft top-k set' % (i, p))
            px0 = softmax(r)
            if last:
                new[p] = int(np.argmax(px0))
                mg.add(top_gap(r), 'step %d pos %d arg-max' % (i, p))
                conf[p] = px0[new[p]]
                continue
            q = px0 * (mt - ms)
            q[MASK] = ms
            score = q / -np.log(uniform_row(seed, i, p, len(q)))
            new[p] = int(np.argmax(score))
            s2 = np.sort(score)[::-1]
            mg.add((s2[0] - s2[1]) / s2[0], 'step %d pos %d race' % (i, p))
            conf[p] = q[new[p]]
        for p in act:
            if new[p] != MASK:
                x[p] = new[p]
        record.append((i, list(x), conf))
    return record, lams


# ---------------------------------------------------------------- cases
def softplus_inv(y):
    return math.log(math.expm1(y))


def sm_params(s, c, a, k=3):
    return dict(k=k, s=s, c=c, a=a, raw_s=math.log(s / (1.0 - s)), raw_c=softplus_inv(-c), raw_a=softplus_inv(a))


CASES = [
    # name, model, strategy, options; 'prompt' = generate with that many random prompt tokens,
    # 'canvas' = infill pattern (F fixed random token, M mask)
    ('emb_ddpm_sqrt_t0', 'dit-f32.gguf', 'embedding', dict(prompt=4, gen=8, steps=10, temperature=0.0)),
    ('emb_ddpm_sqrt_t1', 'dit-f32.gguf', 'embedding', dict(prompt=4, gen=8, steps=10, temperature=1.0)),
    ('emb_ddpm_clamp_t1', 'dit-f32.gguf', 'embedding', dict(prompt=3, gen=8, steps=10, temperature=1.0, clamp=1)),
    ('emb_ddpm_cosine_clamp_t05', 'dit-f32.gguf', 'embedding',
     dict(prompt=4, gen=6, steps=8, temperature=0.5, clamp=1, schedule='cosine')),
    ('emb_ddim_cosine_t1', 'dit-f32.gguf', 'embedding',
     dict(prompt=4, gen=8, steps=8, temperature=1.0, ddim=1, schedule='cosine')),
    ('emb_ddim_sqrt_t0', 'dit-f32.gguf', 'embedding', dict(prompt=2, gen=10, steps=12, temperature=0.0, ddim=1)),
    ('emb_ddpm_linear_clamp_t1', 'dit-f32.gguf', 'embedding',
     dict(prompt=4, gen=6, steps=9, temperature=1.0, clamp=1, schedule='linear')),
    ('emb_infill_ddpm_cosine_t1', 'dit-f32.gguf', 'embedding',
     dict(canvas='FFMMMMFFFMMMMF', steps=12, temperature=1.0, schedule='cosine')),
    ('sm_llada_one_block', 'llada-f32.gguf', 'llada',
     dict(prompt=4, gen=12, steps=6, softmask=sm_params(0.6, -5.0, 2.0))),
    ('sm_llada_blocks', 'llada-f32.gguf', 'llada',
     dict(prompt=4, gen=16, steps=8, block=8, softmask=sm_params(0.6, -5.0, 2.0))),
    ('sm_dream_shifted', 'dream-f32.gguf', 'dream',
     dict(prompt=4, gen=12, steps=6, eps=1e-3, softmask=sm_params(0.6, -4.8, 2.0))),
    ('sm_threshold', 'llada-f32.gguf', 'threshold',
     dict(prompt=4, gen=10, block=0, threshold=0.08, softmask=sm_params(0.6, -5.0, 2.0))),
    ('sm_mdlm_dit', 'dit-f32.gguf', 'mdlm',
     dict(prompt=4, gen=8, steps=6, eps=1e-3, softmask=sm_params(0.6, -2.4, 2.0))),
]
STRATEGY_ID = {'llada': 1, 'dream': 2, 'threshold': 3, 'mdlm': 7, 'embedding': 13}


def make_canvas(rng, o):
    if 'canvas' in o:
        pat = o['canvas']
        return [int(rng.integers(0, MASK)) if ch == 'F' else MASK for ch in pat], pat.index('M'), None
    prompt = rng.integers(0, MASK, o['prompt']).tolist()
    return prompt + [MASK] * o['gen'], o['prompt'], o['prompt']


def build(name, model_file, strategy, o, g, attempt):
    rng = np.random.default_rng([sum(map(ord, name)), attempt])
    canvas, region, n_prompt = make_canvas(rng, o)
    seed = int(rng.integers(1, 2 ** 40))
    c = dict(strategy=strategy, region=region, steps=o.get('steps', 1), temperature=o.get('temperature', 0.0),
             clamp=o.get('clamp', 0), ddim=o.get('ddim', 0), schedule=o.get('schedule', 'sqrt'),
             block=o.get('block', 0), threshold=o.get('threshold', 0.9), eps=o.get('eps', 1e-3),
             softmask=o.get('softmask'), t_shift=o.get('t_shift', 0), noise_shift=o.get('noise_shift', 0))
    mg, lams = Margins(), []
    if strategy == 'embedding':
        record = run_embedding(g, c, canvas, seed, mg)
    elif strategy == 'mdlm':
        record, lams = run_mdlm_soft(g, c, canvas, seed, mg)
    else:
        record, lams = run_masked_soft(g, c, canvas, seed, mg)
    return dict(canvas=canvas, n_prompt=n_prompt, seed=seed, c=c, record=record, mg=mg, lams=lams)


def max_change(rec_a, rec_b):
    """Largest relative confidence change between two trajectories (inf if the tokens differ)."""
    worst = 0.0
    for (_, ta, ca), (_, tb, cb) in zip(rec_a, rec_b):
        if ta != tb:
            return math.inf
        for a, b in zip(ca, cb):
            if not math.isnan(b):
                worst = max(worst, abs(a - b) / abs(b))
    return worst if len(rec_a) == len(rec_b) else math.inf


def power(name, model_file, strategy, o, g, attempt, r):
    """The test must see what it claims to check: the conditioning time, the
    noise keying and the soft mask each change the trajectory far beyond the
    tolerance."""
    if strategy == 'embedding':
        ablations = [('t=(k-1)/T', dict(o, t_shift=1))]
        if not o.get('ddim'):
            ablations.append(('noise step+1', dict(o, noise_shift=1)))
    else:
        ablations = [('plain mask', dict(o, softmask=dict(o['softmask'], s=0.0)))]
    out = []
    for label, oa in ablations:
        ra = build(name, model_file, strategy, oa, g, attempt)
        ch = max_change(ra['record'], r['record'])
        if not ch > 100 * TOL_REL:
            raise SystemExit('%s: %s changes the confidences by only %.3g' % (name, label, ch))
        out.append('%s: %s' % (label, 'tokens differ' if ch == math.inf else 'conf %.2g' % ch))
    return ', '.join(out)


def write_case(out, name, model_file, strategy, o, r):
    c = r['c']
    out.append('case %s' % name)
    out.append('model %s' % model_file)
    out.append('run generate %d' % r['n_prompt'] if r['n_prompt'] is not None else 'run infill')
    out.append('canvas %d %s' % (len(r['canvas']), ' '.join(map(str, r['canvas']))))
    ints = [('STRATEGY', STRATEGY_ID[strategy]), ('SEED', r['seed']), ('CUT_AT_EOS', 0), ('KEEP_HISTORY', 1)]
    floats = []
    if r['n_prompt'] is not None:
        ints.append(('GEN_LENGTH', len(r['canvas']) - r['n_prompt']))
    if strategy != 'threshold':
        ints.append(('STEPS', c['steps']))
    if strategy == 'embedding':
        ints += [('CLAMP', c['clamp']), ('DDIM', c['ddim']), ('GAUSS_SCHEDULE', SCHEDULE_ID[c['schedule']])]
        floats.append(('TEMPERATURE', c['temperature']))
    if strategy in ('llada', 'dream', 'threshold'):
        ints.append(('BLOCK_LENGTH', c['block']))
    if strategy == 'threshold':
        floats.append(('THRESHOLD', c['threshold']))
    if strategy in ('mdlm', 'dream'):
        floats.append(('EPS', c['eps']))
    out += ['int %s %d' % kv for kv in ints]
    out += ['float %s %.17g' % kv for kv in floats]
    if c['softmask']:
        sm = c['softmask']
        out.append('softmask %d %.17g %.17g %.17g' % (sm['k'], sm['raw_s'], sm['raw_c'], sm['raw_a']))
    out.append('tol %g %g' % (TOL_REL, TOL_ABS))
    out.append('margin %.6g' % r['mg'].worst)
    out.append('steps %d' % len(r['record']))
    for step, toks, conf in r['record']:
        out.append('step %d %s' % (step, ' '.join(map(str, toks))))
        out.append('conf %s' % ' '.join('nan' if math.isnan(v) else '%.9g' % v for v in conf))
    out.append('end')


def main():
    models = {}
    out = ['# trajectories.txt -- written by make_trajectory_goldens.py (float64 PyTorch reference); do not edit.']
    for name, model_file, strategy, o in CASES:
        if model_file not in models:
            models[model_file] = gguf.read(os.path.join(DATA, model_file))
        g = models[model_file]
        for attempt in range(40):
            r = build(name, model_file, strategy, o, g, attempt)
            if r['mg'].worst >= MIN_GAP:
                break
            print('  %s attempt %d: margin %.3g at %s -- next' % (name, attempt, r['mg'].worst, r['mg'].where))
        else:
            raise SystemExit('%s: no attempt clears the margin %g' % (name, MIN_GAP))
        lam = ' lambda %.3f..%.3f' % (min(r['lams']), max(r['lams'])) if r['lams'] else ''
        print('%-28s attempt %d  steps %2d  min margin %.4f (%s)%s' %
              (name, attempt, len(r['record']), r['mg'].worst, r['mg'].where, lam))
        print('%28s ablations change it: %s' % ('', power(name, model_file, strategy, o, g, attempt, r)))
        write_case(out, name, model_file, strategy, o, r)
    with open(os.path.join(DATA, 'trajectories.txt'), 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('wrote %d cases to %s' % (len(CASES), os.path.join(DATA, 'trajectories.txt')))


if __name__ == '__main__':
    main()
