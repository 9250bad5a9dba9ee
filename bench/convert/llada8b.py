#!/usr/bin/env python3
"""llada8b.py -- what converting and running LLaDA-8B costs, measured without the
16 GB download: a checkpoint with LLaDA-8B-Instruct's exact tensor shapes (d 4096,
32 heads, ff 12288, vocabulary 126464, bf16 shards + index, random weights) but only
K layers is written, converted by tools/convert_hf.py (time, peak memory), and run by
`textdiff generate` (seconds per forward pass). Two depths K1 < K2 separate the
per-layer cost from the rest (embedding, head), so the full model's numbers are
fixed + 32 x per-layer: a measured extrapolation, not a guess.

usage: llada8b.py TEXTDIFF WORKDIR [--layers 1,2] [--outtype q8_0] [--threads 2]
                  [--canvas 160] [--keep]
Needs ~3 GB of disk per depth in WORKDIR (removed unless --keep). Run it niced on a
shared machine; it prints a markdown table.
"""
import argparse
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
sys.path.insert(0, os.path.join(ROOT, 'tests', 'convert'))
import synth  # noqa: E402  (tokenizer files and config in the LLaDA layout)

D, HEADS, FF, VOCAB, REAL_LAYERS = 4096, 32, 12288, 126464, 32


def write_shard(path, tensors, pool):
    """tensors: [(name, shape)] as bf16, filled from a pool of random bf16 values."""
    header, off = {}, 0
    for name, shape in tensors:
        n = int(np.prod(shape)) * 2
        header[name] = {'dtype': 'BF16', 'shape': list(shape), 'data_offsets': [off, off + n]}
        off += n
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h)
        rng = np.random.RandomState(0)
        for name, shape in tensors:
            left = int(np.prod(shape))
            if name.endswith('norm.weight') or name.endswith('ln_f.weight'):
                f.write(np.full(left, 0x3f80, '<u2').tobytes())  # bf16 1.0: norms as trained ones start
                continue
            while left:
                k = min(left, pool.size // 2)
                s = rng.randint(0, pool.size - k)
                f.write(pool[s:s + k].tobytes())
                left -= k


def write_checkpoint(d, layers):
    os.makedirs(d, exist_ok=True)
    small = synth.write_llada(os.path.join(d, 'small'), n_layers=1)  # config/tokenizer files in the real layout
    for f in ('tokenizer.json', 'tokenizer_config.json'):
        shutil.copy(os.path.join(small, f), d)
    cfg = json.load(open(os.path.join(small, 'config.json')))
    cfg.update(d_model=D, n_heads=HEADS, n_kv_heads=HEADS, n_layers=layers, mlp_hidden_size=FF, vocab_size=VOCAB,
               embedding_size=VOCAB)
    json.dump(cfg, open(os.path.join(d, 'config.json'), 'w'), indent=2)
    shutil.rmtree(small)
    pool = (np.random.RandomState(1).standard_normal(1 << 24) * 0.02).astype(np.float32)
    pool = ((pool.view(np.uint32) + 0x8000) >> 16).astype('<u2')  # bf16 of N(0, 0.02)
    P = 'model.transformer.'
    shards = [[(P + 'wte.weight', (VOCAB, D)), (P + 'ln_f.weight', (D,))], [(P + 'ff_out.weight', (VOCAB, D))]]
    for i in range(layers):
        b = P + 'blocks.%d.' % i
        shards.append([(b + n, s) for n, s in (('attn_norm.weight', (D,)), ('q_proj.weight', (D, D)),
                                                ('k_proj.weight', (D, D)), ('v_proj.weight', (D, D)),
                                                ('attn_out.weight', (D, D)), ('ff_norm.weight', (D,)),
                                                ('ff_proj.weight', (FF, D)), ('up_proj.weight', (FF, D)),
                                                ('ff_out.weight', (D, FF)))])
    weight_map = {}
    for k, tensors in enumerate(shards):
        fn = 'model-%05d-of-%05d.safetensors' % (k + 1, len(shards))
        write_shard(os.path.join(d, fn), tensors, pool)
        weight_map.update({n: fn for n, _ in tensors})
    json.dump({'metadata': {}, 'weight_map': weight_map}, open(os.path.join(d, 'model.safetensors.index.json'), 'w'))


def convert(d, out, outtype):
    t0 = time.time()
    r = subprocess.run([sys.executable, os.path.join(ROOT, 'tools', 'convert_hf.py'), d, '-o', out, '--outtype',
                        outtype], capture_output=True, text=True, check=True)
    peak = float(re.search(r'peak memory ([\d.]+) MiB', r.stdout).group(1))
    return time.time() - t0, peak


def forward_seconds(exe, model, canvas, threads):
    """Seconds per forward pass over `canvas` tokens (a 4-step generation, the best of two runs)."""
    prompt = ','.join(['300'] * 32)
    best = None
    for _ in range(2):
        r = subprocess.run([exe, 'generate', model, '--prompt-ids', prompt, '-n', str(canvas - 32), '--steps', '4',
                            '--threads', str(threads), '--json'], capture_output=True, text=True, check=True)
        j = json.loads(r.stdout)
        per = j['forward_seconds'] / j['forward_passes']
        best = per if best is None else min(best, per)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('textdiff')
    ap.add_argument('workdir')
    ap.add_argument('--layers', default='1,2')
    ap.add_argument('--outtype', default='q8_0')
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--canvas', type=int, default=160, help='prompt 32 + 128 generated, LLaDA\'s usual length')
    ap.add_argument('--keep', action='store_true')
    a = ap.parse_args()
    rows = []
    for k in map(int, a.layers.split(',')):
        d = os.path.join(a.workdir, 'llada8b-L%d' % k)
        write_checkpoint(d, k)
        size_in = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith('.safetensors'))
        out = os.path.join(a.workdir, 'llada8b-L%d-%s.gguf' % (k, a.outtype))
        secs, peak = convert(d, out, a.outtype)
        fw = forward_seconds(a.textdiff, out, a.canvas, a.threads)
        rows.append((k, size_in, os.path.getsize(out), secs, peak, fw))
        print('L=%d: checkpoint %.2f GB, %s %.2f GB, convert %.1f s, peak %.0f MiB, forward %.2f s' %
              (k, size_in / 1e9, a.outtype, rows[-1][2] / 1e9, secs, peak, fw), flush=True)
        if not a.keep:
            shutil.rmtree(d)
            os.remove(out)
    (k1, in1, out1, c1, _, f1), (k2, in2, out2, c2, _, f2) = rows[0], rows[-1]
    per = lambda v1, v2: (v2 - v1) / (k2 - k1)  # noqa: E731
    full = lambda v1, v2: v1 + (REAL_LAYERS - k1) * per(v1, v2)  # noqa: E731
    # conversion time scales with the values converted: the full model at each run's rate (a
    # difference of two timings is too noisy on a shared machine)
    rates = [r[1] / 2 / r[3] for r in rows]  # bf16 values per second
    values = full(in1, in2) / 2
    print('\n| LLaDA-8B (32 layers), from %d and %d layers | value |' % (k1, k2))
    print('|---|---|')
    print('| checkpoint (bf16) | %.1f GB |' % (full(in1, in2) / 1e9))
    print('| %s file | %.1f GB |' % (a.outtype.upper(), full(out1, out2) / 1e9))
    print('| conversion rate | %s M values/s |' % ' and '.join('%.1f' % (r / 1e6) for r in rates))
    print('| conversion time (8.02 G values at those rates) | %s s |' % ' to '.join(
        '%.0f' % (values / r) for r in sorted(rates, reverse=True)))
    print('| converter peak memory | %.0f MiB (independent of depth) |' % max(r[4] for r in rows))
    print('| one forward pass over %d tokens, %d threads | %.1f s (%.2f s per layer) |' %
          (a.canvas, a.threads, full(f1, f2), per(f1, f2)))


if __name__ == '__main__':
    main()
