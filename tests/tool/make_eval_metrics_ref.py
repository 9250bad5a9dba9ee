"""make_eval_metrics_ref.py -- reference values for src/eval_metrics.c
(test_eval_metrics.c), written from the definitions in docs/evaluation.md with
collections.Counter; shares no code with the C. When NLTK is installed (Debian
python3-nltk) every BLEU value is also checked against
nltk.translate.bleu_score.sentence_bleu(weights (1/4,)*4,
smoothing_function=SmoothingFunction().method1) and the script fails on a
difference > 1e-12.

data/eval_metrics_cases.txt, one case a block:
  case <name>
  sample <ids...>            (one line per sample of one prompt)
  distinct <d1> <d2> <d3> <d4>   (pooled over the samples; nan when no n-gram)
  repeat4 <r>
  selfbleu <value or nan>
Run: /usr/bin/python3 tests/tool/make_eval_metrics_ref.py   (stdlib; deterministic)
"""
import math
import os
import random
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))


def grams(x, n):
    return [tuple(x[i:i + n]) for i in range(len(x) - n + 1)]


def distinct(samples, n):
    total = sum(len(grams(s, n)) for s in samples)
    uniq = sum(len(set(grams(s, n))) for s in samples)   # n-grams counted within each sample
    return uniq / total if total else float('nan')


def bleu4(hyp, refs):
    if len(hyp) < 4 or not refs:
        return float('nan')
    logs = []
    for n in range(1, 5):
        h = Counter(grams(hyp, n))
        mx = Counter()
        for r in refs:
            for g, c in Counter(grams(r, n)).items():
                mx[g] = max(mx[g], c)
        num = sum(min(c, mx[g]) for g, c in h.items())
        den = sum(h.values())
        if n == 1 and num == 0:
            return 0.0
        logs.append(math.log(num / den if num else 0.1 / den))
    c = len(hyp)
    r = min((len(x) for x in refs), key=lambda L: (abs(L - c), L))
    bp = 1.0 if c > r else math.exp(1 - r / c)
    return bp * math.exp(sum(logs) / 4)


def self_bleu(samples):
    vals = [bleu4(s, samples[:i] + samples[i + 1:]) for i, s in enumerate(samples) if len(s) >= 4]
    return sum(vals) / len(vals) if len(samples) >= 2 and vals else float('nan')


def nltk_check(samples):
    try:
        from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu
    except ImportError:
        return False
    sm = SmoothingFunction().method1
    for i, s in enumerate(samples):
        if len(s) < 4 or len(samples) < 2:
            continue
        refs = samples[:i] + samples[i + 1:]
        a, b = bleu4(s, refs), sentence_bleu(refs, s, weights=(0.25,) * 4, smoothing_function=sm)
        assert abs(a - b) <= 1e-12, (s, refs, a, b)
    return True


def main():
    rng = random.Random(2017)
    cases = [
        ('hand_repeats', [[1, 2, 1, 2, 1]]),
        ('hand_identical', [[1, 2, 3, 4, 5], [1, 2, 3, 4, 5]]),
        ('hand_short_hyp', [[1, 2, 3, 4], [1, 2, 3, 4, 5]]),
        ('hand_no_common', [[1, 2, 3, 4], [5, 6, 7, 8]]),
        ('hand_partial', [[1, 2, 3, 5, 6], [1, 2, 3, 4, 6]]),
        ('one_sample', [[7, 7, 7, 7, 7, 7]]),
        ('too_short', [[1, 2], [3]]),
    ]
    for k in range(8):   # random samples over a small alphabet, so n-grams repeat
        n_s = rng.randint(2, 5)
        alpha = rng.randint(3, 12)
        cases.append(('random_%d' % k, [[rng.randrange(alpha) for _ in range(rng.randint(3, 60))]
                                        for _ in range(n_s)]))
    checked = 0
    out = ['# written by make_eval_metrics_ref.py']
    for name, samples in cases:
        checked += nltk_check(samples)
        out.append('case %s' % name)
        out += ['sample ' + ' '.join(map(str, s)) for s in samples]
        out.append('distinct ' + ' '.join('%.17g' % distinct(samples, n) for n in range(1, 5)))
        out.append('repeat4 %.17g' % (1 - distinct(samples, 4)))
        out.append('selfbleu %.17g' % self_bleu(samples))
    with open(os.path.join(HERE, 'data', 'eval_metrics_cases.txt'), 'w') as f:
        f.write('\n'.join(out) + '\n')
    print('%d cases written%s' % (len(cases), ', BLEU checked against NLTK' if checked else ' (NLTK not installed)'))


if __name__ == '__main__':
    main()
