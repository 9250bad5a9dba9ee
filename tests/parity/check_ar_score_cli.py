"""check_ar_score_cli.py -- `textdiff score` on an autoregressive file against
make_ar_nll_goldens.py's numpy reference: the tool's ids (`textdiff tokenize`)
scored by the float64 forward pass, BOS as the condition of every window, for one
window and for windows of 7 (6 scored tokens each). Tolerance: 2e-4 nats per token
(twice the F32 logit tolerance).
Usage: check_ar_score_cli.py TEXTDIFF_EXE   (needs numpy)"""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_ar_goldens as ar  # noqa: E402
import make_ar_nll_goldens as ref  # noqa: E402

TEXT = 'It is a truth universally acknowledged, that a single man in possession of a good fortune.\n'


def main():
    exe = sys.argv[1]
    model = os.path.join(ar.DATA, 'ar-qwen2-f32.gguf')
    m = ar.Model(model)
    ids = [int(x) for x in subprocess.run([exe, 'tokenize', model, TEXT], capture_output=True, text=True,
                                          check=True).stdout.strip().split(',')]
    bos = ar.V - 2
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'text.txt')
        with open(path, 'w') as f:
            f.write(TEXT)
        for window in (None, 7):
            args = [exe, 'score', model, path, '--json'] + (['--window', str(window)] if window else [])
            got = json.loads(subprocess.run(args, capture_output=True, text=True, check=True).stdout)
            per = (window or len(ids) + 1) - 1
            want = sum(ref.nll(m, [bos] + ids[i:i + per], 1) for i in range(0, len(ids), per))
            ok = got['tokens'] == len(ids) and abs(got['nll_nats_total'] - want) <= 2e-4 * len(ids) \
                and got['condition'] == 'bos' and got['kind'] == 'autoregressive'
            print('%s window %s: tool %.6f, reference %.6f nats over %d tokens' % (
                'ok ' if ok else 'FAIL', window, got['nll_nats_total'], want, got['tokens']))
            failures += not ok
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
