#!/usr/bin/python3
"""quality.py -- what the KV cache costs in output quality, and what it gains in speed.

For held-out Austen prompts (the last 5% of every book, tools/fetch_austen.py, which the bundled model never
saw) and each cache mode, greedy generation with the bundled model: the tokens' agreement with the uncached
run (the share of generated positions holding the same token), the NELBO of the generated text under the
model itself (nats/token, `textdiff score`'s estimator: quadrature, 32 evaluations, one window), and the
speed-up of the whole generation over the uncached run, all from one process with the modes interleaved
prompt by prompt.

Run (after meson compile -C build; ~10 minutes on 2 busy cores):
  python3 tools/fetch_austen.py --out /tmp/austen
  TEXTDIFF_LIB=build/lib/libtextdiff.so /usr/bin/python3 bench/generate/quality.py \\
      models/austen-llada.gguf /tmp/austen/heldout-plain.txt [--prompts 24] [--threads 2]
Prints one Markdown table per setting (bench/README.md and docs/sampling.md hold the recorded ones).
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'bindings', 'python'))
import textdiff  # noqa: E402

MODES = [('none', 0), ('prefix', 0), ('dual', 0), ('dual', 4), ('delayed', 0), ('delayed', 4)]


def prompts(model, path, count, length):
    """`count` prompts of `length` tokens: the openings of paragraphs spread evenly over the file."""
    paras = [p.strip() for p in open(path, encoding='utf-8').read().split('\n\n')]
    ids = [model.tokenize(p) for p in paras if len(p) > 200]
    ids = [t for t in ids if len(t) >= length]
    step = max(1, len(ids) // count)
    return [t[:length] for t in ids[::step][:count]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('model')
    ap.add_argument('heldout')
    ap.add_argument('--prompts', type=int, default=24)
    ap.add_argument('--prompt-len', type=int, default=32)
    ap.add_argument('--gen', type=int, default=128)
    ap.add_argument('--block', type=int, default=32)
    ap.add_argument('--threads', type=int, default=2)
    args = ap.parse_args()
    settings = [dict(strategy='llada', steps=args.gen), dict(strategy='llada', steps=args.gen // 2),
                dict(strategy='threshold', threshold=0.9)]
    with textdiff.Model(args.model) as m:
        ps = prompts(m, args.heldout, args.prompts, args.prompt_len)
        load0 = os.getloadavg()
        print('%d held-out prompts of %d tokens, %d generated, block %d, %d threads, greedy; load average at start '
              '%.1f' % (len(ps), args.prompt_len, args.gen, args.block, args.threads, load0[0]))
        for setting in settings:
            rows = {k: dict(agree=0, n=0, nelbo=0.0, ntok=0, secs=0.0, steps=0, comp=0) for k in MODES}
            for p in ps:
                base = None
                for mode, refresh in MODES:
                    with m.sampler(gen_length=args.gen, block_length=args.block, n_threads=args.threads, cache=mode,
                                   cache_refresh=refresh, cut_at_eos=0, **setting) as s:
                        t0 = time.perf_counter()
                        out = s.generate(p)
                        secs = time.perf_counter() - t0
                        st = s.stats
                    r = rows[(mode, refresh)]
                    if base is None:
                        base = out
                    r['agree'] += sum(a == b for a, b in zip(out, base))
                    r['n'] += len(out)
                    r['secs'] += secs
                    r['steps'] += st['steps']
                    r['comp'] += st['rows_computed']
                    text = out[:out.index(m.eos_id)] if m.eos_id in out else out  # what generate() returns
                    if len(text) >= 2:
                        sc = m.score(text, n_threads=args.threads)
                        r['nelbo'] += sc.nelbo
                        r['ntok'] += sc.n_tokens
            setting_name = ', '.join('%s %s' % kv for kv in setting.items())
            print('\n%s (load average now %.1f)\n' % (setting_name, os.getloadavg()[0]))
            print('| cache | refresh | agreement with none | NELBO (nats/token) | steps | rows computed | seconds '
                  '| speed-up |')
            print('|---|---|---|---|---|---|---|---|')
            t_none = rows[('none', 0)]['secs']
            for k in MODES:
                r = rows[k]
                print('| %s | %s | %.1f%% | %.3f | %d | %d | %.1f | %.2fx |' % (
                    k[0], k[1] or '-', 100.0 * r['agree'] / r['n'], r['nelbo'] / max(r['ntok'], 1), r['steps'],
                    r['comp'], r['secs'], t_none / r['secs']))
            sys.stdout.flush()


if __name__ == '__main__':
    main()
