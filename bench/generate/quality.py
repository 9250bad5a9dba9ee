#!/usr/bin/python3
"""quality.py -- what the KV cache costs in output quality, and what it gains in speed.

For Austen prompts and each cache mode, greedy generation with the bundled model: the tokens' agreement with the
uncached run (the share of generated positions holding the same token), the NELBO of the generated text under the
model itself (nats/token, `textdiff score`'s estimator: quadrature, 32 evaluations, one window), and the speed-up of
the whole generation over the uncached run (wall and process CPU time), all from one process with the modes
interleaved prompt by prompt.

Prompts: with HELDOUT (tools/fetch_austen.py's heldout-plain.txt: the last 5% of every book, which the bundled
model never saw), the openings of paragraphs spread evenly over it; a file of one prompt per line
(models/heldout-prompts.txt: held-out paragraph openings) is used line by line; without it (no network), the opening sentences
of the six novels and of some of their chapters, written below (training text: the model saw them).

Run (after meson compile -C build; a few minutes on 2 busy cores):
  TEXTDIFF_LIB=build/lib/libtextdiff.so /usr/bin/python3 bench/generate/quality.py models/austen-llada.gguf \\
      [HELDOUT] [--prompts 12] [--threads 2] [--gen 128] [--block 32]
Prints one Markdown table per setting (bench/README.md and docs/sampling.md hold the recorded ones).
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'bindings', 'python'))
import textdiff  # noqa: E402

OPENINGS = [
    'It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of '
    'a wife.',
    'Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition, seemed to unite some '
    'of the best blessings of existence;',
    'The family of Dashwood had long been settled in Sussex. Their estate was large, and their residence was at '
    'Norland Park,',
    'No one who had ever seen Catherine Morland in her infancy would have supposed her born to be an heroine.',
    'Sir Walter Elliot, of Kellynch Hall, in Somersetshire, was a man who, for his own amusement, never took up any '
    'book but the Baronetage;',
    'About thirty years ago Miss Maria Ward, of Huntingdon, with only seven thousand pounds, had the good luck to '
    'captivate Sir Thomas Bertram,',
    'Mr. Bennet was among the earliest of those who waited on Mr. Bingley. He had always intended to visit him,',
    '"My dear Mr. Bennet," said his lady to him one day, "have you heard that Netherfield Park is let at last?"',
    'Within a short walk of Longbourn lived a family with whom the Bennets were particularly intimate.',
    'Mr. Knightley, a sensible man about seven or eight-and-thirty, was not only a very old and intimate friend of '
    'the family,',
    'Mrs. John Dashwood now installed herself mistress of Norland; and her mother and sisters-in-law were degraded '
    'to the condition of visitors.',
    'Anne had been a very pretty girl, but her bloom had vanished early;',
]

MODES = [('none', 0), ('prefix', 0), ('dual', 0), ('dual', 4), ('delayed', 0), ('delayed', 4)]


def prompts(model, path, count, length):
    """`count` prompts of up to `length` tokens: the openings of paragraphs spread evenly over the file, or of
    OPENINGS without a file."""
    if not path:
        return [model.tokenize(p)[:length] for p in OPENINGS[:count]]
    text = open(path, encoding='utf-8').read()
    if '\n\n' not in text.strip():  # one prompt per line (models/heldout-prompts.txt): each line whole
        ids = [model.tokenize(p)[:length] for p in text.splitlines() if p.strip()]
        step = max(1, len(ids) // count)
        return ids[::step][:count]
    paras = [p.strip() for p in text.split('\n\n')]
    ids = [model.tokenize(p) for p in paras if len(p) > 200]
    ids = [t for t in ids if len(t) >= length]
    step = max(1, len(ids) // count)
    return [t[:length] for t in ids[::step][:count]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('model')
    ap.add_argument('heldout', nargs='?')
    ap.add_argument('--prompts', type=int, default=12)
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
        print('%d %s prompts of <= %d tokens, %d generated, block %d, %d threads, greedy; load average at start '
              '%.1f' % (len(ps), 'held-out' if args.heldout else 'built-in', args.prompt_len, args.gen, args.block,
                        args.threads, load0[0]))
        for setting in settings:
            rows = {k: dict(agree=0, n=0, nelbo=0.0, ntok=0, secs=0.0, cpu=0.0, steps=0, comp=0) for k in MODES}
            for p in ps:
                base = None
                for mode, refresh in MODES:
                    with m.sampler(gen_length=args.gen, block_length=args.block, n_threads=args.threads, cache=mode,
                                   cache_refresh=refresh, cut_at_eos=0, **setting) as s:
                        t0, c0 = time.perf_counter(), time.process_time()
                        out = s.generate(p)
                        secs, cpu = time.perf_counter() - t0, time.process_time() - c0
                        st = s.stats
                    r = rows[(mode, refresh)]
                    if base is None:
                        base = out
                    r['agree'] += sum(a == b for a, b in zip(out, base))
                    r['n'] += len(out)
                    r['secs'] += secs
                    r['cpu'] += cpu
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
                  '| speed-up | CPU seconds | CPU speed-up |')
            print('|---|---|---|---|---|---|---|---|---|---|')
            t_none, c_none = rows[('none', 0)]['secs'], rows[('none', 0)]['cpu']
            for k in MODES:
                r = rows[k]
                print('| %s | %s | %.1f%% | %.3f | %d | %d | %.1f | %.2fx | %.1f | %.2fx |' % (
                    k[0], k[1] or '-', 100.0 * r['agree'] / r['n'], r['nelbo'] / max(r['ntok'], 1), r['steps'],
                    r['comp'], r['secs'], t_none / r['secs'], r['cpu'], c_none / r['cpu']))
            sys.stdout.flush()


if __name__ == '__main__':
    main()
