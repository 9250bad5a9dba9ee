#!/usr/bin/env python3
"""make_eval_prompts.py -- writes models/heldout-prompts.txt, the default prompts of
`textdiff eval`: the first WORDS words of N paragraphs of the bundled model's
held-out text (.cache/austen/heldout-plain.txt from tools/fetch_austen.py; never
seen in training, models/README.md "Split"), the paragraphs with at least 2*WORDS
words taken at evenly spaced indices. Deterministic.

Run: python3 tools/fetch_austen.py && python3 tools/make_eval_prompts.py [--n 32] [--words 10]
"""
import argparse
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--heldout', default=os.path.join(ROOT, '.cache', 'austen', 'heldout-plain.txt'))
    ap.add_argument('--out', default=os.path.join(ROOT, 'models', 'heldout-prompts.txt'))
    ap.add_argument('--n', type=int, default=32)
    ap.add_argument('--words', type=int, default=10)
    a = ap.parse_args()
    paras = [p.split() for p in open(a.heldout, encoding='utf-8').read().split('\n\n')]
    paras = [p for p in paras if len(p) >= 2 * a.words]
    picks = [paras[i * len(paras) // a.n] for i in range(a.n)]
    with open(a.out, 'w', encoding='utf-8') as f:
        for p in picks:
            f.write(' '.join(p[:a.words]) + '\n')
    print('%d prompts of %d words from %d held-out paragraphs -> %s' % (len(picks), a.words, len(paras), a.out))


if __name__ == '__main__':
    main()
