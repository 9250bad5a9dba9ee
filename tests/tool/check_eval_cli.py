"""check_eval_cli.py -- `textdiff eval` end to end on the random llama / qwen2
files of make_ar_goldens.py (same byte-level vocabulary): every number of its
--json output recomputed independently --
  * the samples: `textdiff generate -p PROMPT --seed S+k --json` (eval's documented seeds),
  * the judge's perplexity: make_ar_nll_goldens.py's float64 numpy forward pass of
    [BOS] + prompt + sample, the sample's tokens scored (tolerance 2e-4 nats/token),
  * distinct-1/2/3, repeat-4, self-BLEU: make_eval_metrics_ref.py (1e-9),
  * forward passes: generate's own count;
then the --compare table (two rows), and the refusals: a judge with another
vocabulary, a judge that is not autoregressive, -p inside eval.
Usage: check_eval_cli.py TEXTDIFF_EXE   (needs numpy)"""
import json
import math
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PARITY = os.path.join(HERE, '..', 'parity')
sys.path.insert(0, PARITY)
sys.path.insert(0, HERE)
import make_ar_goldens as ar  # noqa: E402
import make_ar_nll_goldens as nllref  # noqa: E402
import make_eval_metrics_ref as mref  # noqa: E402
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
import gguf  # noqa: E402

PROMPTS = ['It is a truth universally', 'Emma grieved that she could not']
GEN = ['-n', '12', '--temperature', '1', '--top-k', '40']
SEED, SAMPLES = 5, 3


def run(args, ok=True):
    p = subprocess.run(args, capture_output=True, text=True)
    if ok and p.returncode != 0:
        raise SystemExit('FAIL: %s exited %d: %s' % (' '.join(args), p.returncode, p.stderr))
    return p


def main():
    exe = sys.argv[1]
    model = os.path.join(ar.DATA, 'ar-llama-f32.gguf')
    judge = os.path.join(ar.DATA, 'ar-qwen2-f32.gguf')
    jm = ar.Model(judge)
    bos = ar.V - 2
    fails = []
    with tempfile.TemporaryDirectory() as tmp:
        pf = os.path.join(tmp, 'prompts.txt')
        with open(pf, 'w') as f:
            f.write(PROMPTS[0] + '\n\n' + PROMPTS[1] + '\n')   # the blank line is skipped
        got = json.loads(run([exe, 'eval', model, '--judge', judge, '--prompts', pf, '--samples', str(SAMPLES),
                              '--json', '-s', str(SEED)] + GEN).stdout)
        cfg = got['configs'][0]
        nll, scored, passes, all_samples, bleus = 0.0, 0, 0, [], []
        for prompt in PROMPTS:
            pids = [int(x) for x in run([exe, 'tokenize', model, prompt]).stdout.strip().split(',')]
            outs = []
            for k in range(SAMPLES):
                g = json.loads(run([exe, 'generate', model, '-p', prompt, '--seed', str(SEED + k), '--json']
                                   + GEN).stdout)
                outs.append(g['tokens'])
                passes += g['forward_passes']
                seq = ([bos] if pids[:1] != [bos] else []) + pids
                nll += nllref.nll(jm, seq + g['tokens'], len(seq))
                scored += len(g['tokens'])
            all_samples += outs
            bleus.append(mref.self_bleu(outs))
        want = {
            'judge_nll_per_token': (nll / scored, 2e-4),
            'distinct_1': (mref.distinct(all_samples, 1), 1e-9),
            'distinct_2': (mref.distinct(all_samples, 2), 1e-9),
            'distinct_3': (mref.distinct(all_samples, 3), 1e-9),
            'repeat_4': (1 - mref.distinct(all_samples, 4), 1e-9),
            'self_bleu': (sum(bleus) / len(bleus), 1e-5),
        }
        for key, (w, tol) in want.items():
            ok = abs(cfg[key] - w) <= tol + 1e-6 * abs(w)   # the JSON prints 6 significant digits
            print('%s %-20s eval %.6g, reference %.6g' % ('ok  ' if ok else 'FAIL', key, cfg[key], w))
            if not ok:
                fails.append(key)
        for key, w in (('judged_tokens', scored), ('forward_passes', passes), ('samples', SAMPLES * len(PROMPTS))):
            ok = cfg[key] == w
            print('%s %-20s eval %s, reference %s' % ('ok  ' if ok else 'FAIL', key, cfg[key], w))
            if not ok:
                fails.append(key)
        if not math.isclose(cfg['judge_perplexity'], math.exp(cfg['judge_nll_per_token']), rel_tol=1e-5):
            fails.append('judge_perplexity')
        if got['prompts'] != 2:
            fails.append('prompts')

        table = run([exe, 'eval', model, '--judge', judge, '--prompts', pf, '--samples', '2', '-n', '8',
                     '--compare', '--temperature 0', '--compare', '--temperature 1 --seed 3']).stdout
        rows = [l for l in table.splitlines() if l.startswith('--temperature')]
        greedy = rows[0].split() if rows else []
        # greedy samples of a prompt are identical: self-BLEU 1
        if len(rows) != 2 or 'self-BLEU' not in table or greedy[greedy.index('0') + 6] != '1.000':
            fails.append('compare table')
            print(table)

        # tools/make_random_judge.py: a judge with the model's tokenizer is accepted; one (control) token renamed
        # is refused
        src = gguf.read(model)
        for name, rename in (('same', False), ('renamed', True)):
            w = gguf.Writer()
            toks = list(src.kv['tokenizer.ggml.tokens'][1])
            if rename:
                toks[319] = '<|renamed|>'
            w.add_array('tokenizer.ggml.tokens', toks, gguf.STRING)
            w.add_array('tokenizer.ggml.token_type', src.kv['tokenizer.ggml.token_type'][1], gguf.I32)
            w.add_array('tokenizer.ggml.merges', src.kv['tokenizer.ggml.merges'][1], gguf.STRING)
            for k in ('tokenizer.ggml.model', 'tokenizer.ggml.pre'):
                w.add(k, src.kv[k][1])
            w.add('tokenizer.ggml.bos_token_id', src.kv['tokenizer.ggml.bos_token_id'][1], gguf.U32)
            w.write(os.path.join(tmp, name + '-src.gguf'))
            run([sys.executable, os.path.join(HERE, '..', '..', 'tools', 'make_random_judge.py'),
                 os.path.join(tmp, name + '-src.gguf'), os.path.join(tmp, name + '.gguf')])
            p = run([exe, 'eval', model, '--judge', os.path.join(tmp, name + '.gguf'), '--prompts', pf, '-n', '4',
                     '--samples', '2', '--json'], ok=False)
            ok = (p.returncode != 0 and 'token 319' in p.stderr) if rename else p.returncode == 0
            print('%s random judge, %s vocabulary: exit %d %s' % ('ok  ' if ok else 'FAIL', name, p.returncode,
                                                                   p.stderr.strip()[:100]))
            if not ok:
                fails.append('random judge ' + name)
        for args, why in (([os.path.join(HERE, '..', 'fixtures', 'llada-tiny.gguf'), '--judge', judge],
                           'same tokenizer'),
                          ([model, '--judge', os.path.join(HERE, '..', 'fixtures', 'llada-tiny.gguf')],
                           'not an autoregressive'),
                          ([model, '--judge', judge, '-p', 'x'], 'does not apply')):
            p = run([exe, 'eval'] + args + ['--prompts', pf, '-n', '4'], ok=False)
            ok = p.returncode != 0 and why in p.stderr
            print('%s refusal (%s): %s' % ('ok  ' if ok else 'FAIL', why, p.stderr.strip()[:120]))
            if not ok:
                fails.append('refusal ' + why)
    if fails:
        print('FAILED:', ', '.join(fails))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
