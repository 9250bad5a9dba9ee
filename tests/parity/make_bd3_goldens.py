"""make_bd3_goldens.py -- block diffusion (BD3-LM) sampling trajectories at a fixed
seed, for test_trajectory_parity.c (meson tests bd3_parity, bd3_parity-scalar).

The model: a tiny random checkpoint in the layout of kuleshov-group/bd3lm-owt-
block_size4 (tests/convert/synth.py write_bd3lm: d 32, 2 heads, 2 DiT blocks,
GPT-2-style vocabulary of 366 with EOS 364 and the mask 365) converted by
tools/convert_hf.py into data/bd3lm-f32.gguf (committed; the test loads it).
The network here is NOT the library: the float64 PyTorch forward written from
bd3lms' models/hf/modeling_bd3lm.py (tests/convert/make_goldens.py bd3lm: sample
mode, block-causal blocks of 4 from position 0), run on the safetensors. Every
prompt is 4 tokens = one block, so the library's blocks (counted from the
prompt's end) and the reference's (from 0) coincide, and, as bd3lms'
_semi_ar_sampler does, the network sees the canvas up to the current block only.

The sampler loop is written here from bd3lms' diffusion.py (_semi_ar_sampler,
_ddpm_caching_update, _nucleus_sample, _sample_categorical), with the library's
documented choices (lib/sampler/bd3.c, docs/sampling.md): Philox draws keyed
(seed, step, position, v) for the exponential race argmax q/(-log u) (bd3lms:
q/(1e-10 - log(u + 1e-10)), torch.rand), the position pick of first hitting at
(seed, step, POS_GLOBAL, 0), s/t = 0 at the last step (bd3lms divides by t = 0
there), EOS: the run ends after the block that holds it, the rest filled with EOS.

Discrete decisions must not sit on a float32 rounding edge: the race's relative
gap between the two best scores and the nucleus cut's distance |cumsum - p|
along the reference trajectory are measured; a case tries prompts / seeds in a
fixed order and keeps the first whose margins clear MIN_GAP. Each case must
change when the network's attention is full instead of block-causal (printed as
"ablation"), so the C test has the power it claims.

Run: /usr/bin/python3 tests/parity/make_bd3_goldens.py   (torch; deterministic)
Writes data/bd3lm-f32.gguf and data/bd3_trajectories.txt (the format of
make_trajectory_goldens.py).
"""
import importlib.util
import json
import math
import os
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
sys.path.insert(0, os.path.join(ROOT, 'tools'))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'convert'))
import convert_hf  # noqa: E402
import gguf  # noqa: E402
import synth  # noqa: E402


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


cg = _load('convert_goldens', os.path.join(ROOT, 'tests', 'convert', 'make_goldens.py'))
sref = _load('sampler_reference', os.path.join(ROOT, 'tests', 'unit', 'sampler', 'reference.py'))

DATA = os.path.join(HERE, 'data')
MODEL = 'bd3lm-f32.gguf'
B = 4                       # block_size of the checkpoint
MIN_GAP = 5e-3              # relative race gap; the float32 library deviates by ~1e-6
MIN_CUT = 1e-4              # |cumsum - top_p| at the nucleus cut
TOL_REL, TOL_ABS = 1e-4, 1e-7
POS_GLOBAL = 0xFFFFFFFF
STRATEGY_ID = {'bd3': 15, 'bd3_first_hitting': 16}

CASES = [  # name, strategy, options
    ('bd3_ddpm', 'bd3', dict(gen=12, steps=4)),
    ('bd3_ddpm_cache_prefix', 'bd3', dict(gen=12, steps=4, cache=1, same_as='bd3_ddpm')),
    ('bd3_ddpm_cache_dual', 'bd3', dict(gen=12, steps=4, cache=2, same_as='bd3_ddpm')),
    ('bd3_ddpm_nucleus_short_block', 'bd3', dict(gen=10, steps=3, top_p=0.8)),
    ('bd3_ddpm_one_step', 'bd3', dict(gen=8, steps=1)),
    ('bd3_first_hitting', 'bd3_first_hitting', dict(gen=12)),
    ('bd3_first_hitting_cache', 'bd3_first_hitting', dict(gen=12, cache=2, same_as='bd3_first_hitting')),
    ('bd3_eos_stops_early', 'bd3', dict(gen=24, steps=2, want_eos=True)),
]


class Margins:
    def __init__(self):
        self.worst, self.where = math.inf, ''

    def add(self, value, where):
        if value < self.worst:
            self.worst, self.where = value, where


class Net:
    """bd3lm(sd, cfg, tokens) of the converter goldens on the canvas prefix."""

    def __init__(self, d, block_size):
        self.sd = cg.load(d)
        self.cfg = dict(json.load(open(os.path.join(d, 'config.json'))), block_size=block_size)

    def __call__(self, x):
        with torch.no_grad():
            return cg.bd3lm(self.sd, self.cfg, torch.tensor(x)).numpy()


def p_x0(row, mask, top_p, mg, where):
    """SUBS softmax (mask excluded), then bd3lms' nucleus: sorted descending, keep
    while cumsum <= p (the first always), renormalised."""
    r = np.array(row, dtype=np.float64)
    r[mask] = -np.inf
    p = np.exp(r - r.max())
    p /= p.sum()
    if top_p < 1.0:
        order = np.argsort(-p, kind='stable')
        cum = np.cumsum(p[order])
        keep = cum <= top_p
        keep[0] = True
        mg.add(float(np.min(np.abs(cum - top_p))) / MIN_CUT * MIN_GAP, where + ' nucleus cut')
        q = np.zeros_like(p)
        q[order[keep]] = p[order[keep]]
        p = q / q.sum()
    return p


def race(w, seed, step, pos, mg, where):
    u = sref.uniform(seed, step, pos, np.arange(len(w)))
    score = np.where(w > 0, w / -np.log(u), -1.0)
    s2 = np.sort(score)[::-1]
    mg.add((s2[0] - s2[1]) / s2[0], where + ' race')
    return int(np.argmax(score))


def run(net, c, canvas, seed, mg):
    """The whole trajectory: [(step, canvas, conf)] after every step."""
    x, n, mask, eos = list(canvas), len(canvas), c['mask'], c['eos']
    record, step, lo = [], 0, c['prompt']
    while lo < n:
        hi = min(lo + B, n)
        i, t = 0, 1.0
        while any(x[p] == mask for p in range(lo, hi)):
            act = [p for p in range(lo, hi) if x[p] == mask]
            conf = [math.nan] * n
            if c['strategy'] == 'bd3':
                T = c['steps']
                tt = 1.0 - i / (T - 1) if T > 1 else 1.0  # torch.linspace(1, 0, T)[i]
                s = tt - 1.0 / T
                keep = s / tt if tt > 0 and s > 0 else 0.0
                logits = net(x[:hi])
                new = {}
                for p in act:
                    w = p_x0(logits[p], mask, c['top_p'], mg, 'step %d pos %d' % (step, p)) * (1.0 - keep)
                    w[mask] = keep
                    new[p] = race(w, seed, step, p, mg, 'step %d pos %d' % (step, p))
                    conf[p] = w[new[p]]
                for p in act:
                    if new[p] != mask:
                        x[p] = new[p]
                i += 1
            else:
                m = len(act)
                k = min(int(sref.uniform1(seed, step, POS_GLOBAL, 0) * m), m - 1)
                p = act[k]
                t *= sref.uniform1(seed, step, POS_GLOBAL, 1) ** (1.0 / m)
                logits = net(x[:hi])
                w = p_x0(logits[p], mask, c['top_p'], mg, 'step %d pos %d' % (step, p))
                x[p] = race(w, seed, step, p, mg, 'step %d pos %d' % (step, p))
                conf[p] = w[x[p]]
            ended = False
            if not any(x[q] == mask for q in range(lo, hi)) and eos in x[lo:hi]:
                x[hi:] = [eos] * (n - hi)
                ended = True
            record.append((step, list(x), conf))
            step += 1
            if ended:
                return record
        lo = hi
    return record


def build(name, strategy, o, net, ids, attempt):
    rng = np.random.default_rng([sum(map(ord, o.get('same_as', name))), attempt])
    prompt = rng.integers(0, ids['eos'], B).tolist()
    canvas = prompt + [ids['mask']] * o['gen']
    seed = int(rng.integers(1, 2 ** 40))
    c = dict(strategy=strategy, prompt=B, steps=o.get('steps', 1), top_p=o.get('top_p', 1.0), **ids)
    mg = Margins()
    return dict(canvas=canvas, seed=seed, c=c, o=o, record=run(net, c, canvas, seed, mg), mg=mg)


def eos_early(r):
    """EOS was drawn before the last block (the canvas ends in EOS fill)."""
    last = r['record'][-1][1]
    return r['c']['eos'] in last[B:len(last) - B] and r['record'][-1][1][-1] == r['c']['eos']


def write_case(out, name, r):
    c, o = r['c'], r['o']
    out.append('case %s' % name)
    out.append('model %s' % MODEL)
    out.append('run generate %d' % c['prompt'])
    out.append('canvas %d %s' % (len(r['canvas']), ' '.join(map(str, r['canvas']))))
    ints = [('STRATEGY', STRATEGY_ID[c['strategy']]), ('SEED', r['seed']), ('CUT_AT_EOS', 0), ('KEEP_HISTORY', 1),
            ('GEN_LENGTH', o['gen']), ('CACHE', o.get('cache', 0))]
    if c['strategy'] == 'bd3':
        ints.append(('STEPS', c['steps']))
    out += ['int %s %d' % kv for kv in ints]
    out.append('float TOP_P %.17g' % c['top_p'])
    out.append('tol %g %g' % (TOL_REL, TOL_ABS))
    out.append('margin %.6g' % r['mg'].worst)
    out.append('steps %d' % len(r['record']))
    for step, toks, conf in r['record']:
        out.append('step %d %s' % (step, ' '.join(map(str, toks))))
        out.append('conf %s' % ' '.join('nan' if math.isnan(v) else '%.9g' % v for v in conf))
    out.append('end')


def main():
    torch.set_default_dtype(torch.float64)
    with tempfile.TemporaryDirectory() as tmp:
        d = synth.write_bd3lm(os.path.join(tmp, 'bd3'), d_model=32, n_heads=2, n_blocks=2, cond=16, block_size=B,
                              seed=11)
        tok = synth.write_gpt2_tokenizer(os.path.join(tmp, 'gpt2'))
        path = os.path.join(DATA, MODEL)
        convert_hf.convert(d, path, 'f32', tokenizer=tok)
        kv = {k: v[1] for k, v in gguf.read(path).kv.items()}
        ids = dict(mask=kv['tokenizer.ggml.mask_token_id'], eos=kv['tokenizer.ggml.eos_token_id'])
        assert kv['tdiff.attention.block_length'] == B
        net, full = Net(d, B), Net(d, 1 << 20)  # full: one block = bidirectional attention (the ablation)
        print('%s: V %d, mask %d, EOS %d, block %d' % (MODEL, len(kv['tokenizer.ggml.tokens']), ids['mask'],
                                                      ids['eos'], B))
        out = ['# bd3_trajectories.txt -- written by make_bd3_goldens.py (float64 PyTorch reference); do not edit.']
        kept = {}
        for name, strategy, o in CASES:
            if 'same_as' in o:
                r = dict(kept[o['same_as']], o=o)
                print('%-30s the trajectory of %s with cache %d (exact: must be identical)' %
                      (name, o['same_as'], o['cache']))
                write_case(out, name, r)
                continue
            for attempt in range(400):
                r = build(name, strategy, o, net, ids, attempt)
                if r['mg'].worst >= MIN_GAP and (not o.get('want_eos') or eos_early(r)):
                    break
            else:
                raise SystemExit('%s: no attempt clears the margin %g' % (name, MIN_GAP))
            ra = build(name, strategy, o, full, ids, attempt)
            changed = [a[1] != b[1] for a, b in zip(ra['record'], r['record'])]
            if not any(changed) and len(ra['record']) == len(r['record']):
                raise SystemExit('%s: full attention gives the same trajectory' % name)
            kept[name] = r
            print('%-30s attempt %3d  steps %2d  min margin %.4f (%s); full attention changes it' %
                  (name, attempt, len(r['record']), r['mg'].worst, r['mg'].where))
            write_case(out, name, r)
    with open(os.path.join(DATA, 'bd3_trajectories.txt'), 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('wrote %d cases' % len(CASES))


if __name__ == '__main__':
    main()
