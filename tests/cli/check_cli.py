#!/usr/bin/env python3
"""check_cli.py TEXTDIFF FIXTURES_DIR -- the command line a llama.cpp user expects
(issue 16): llama.cpp's option spellings give the same tokens as ours, --seed -1,
--version, the error messages, --help defaults, progress on a terminal, -v, the
bundled-model fallback of tokenize/info/score, generate --chat and `textdiff chat`.
Python standard library only; each check prints ok/FAIL, exit 1 on any failure."""
import json
import os
import pty
import re
import subprocess
import sys
import tempfile

EXE, FIXTURES = sys.argv[1], sys.argv[2]
LLADA = os.path.join(FIXTURES, 'llada-tiny.gguf')
ENV = {k: v for k, v in os.environ.items() if k != 'TEXTDIFF_MODEL'}
failures = []


def check(ok, what, detail=''):
    print('%-4s %s' % ('ok' if ok else 'FAIL', what))
    if not ok:
        failures.append(what)
        if detail:
            print('     ' + detail.replace('\n', '\n     '))


def run(*args, stdin=None):
    return subprocess.run([EXE] + list(args), capture_output=True, text=True, errors='replace', input=stdin, env=ENV,
                          timeout=120)


def tokens(*args):
    r = run('generate', *args, '--json')
    return json.loads(r.stdout)['tokens'] if r.returncode == 0 else r.stderr


def aliases():
    base = tokens(LLADA, '-p', 'the cat', '-n', '8', '--steps', '4', '--block', '4', '--seed', '3', '--threads', '2',
                  '--temperature', '0.7', '--remask', 'entropy')
    same = tokens('-m', LLADA, '-p', 'the cat', '-ub', '8', '--diffusion-steps', '4', '--diffusion-block-length', '4',
                  '-s', '3', '-t', '2', '--temp', '0.7', '--diffusion-algorithm', '1')
    check(isinstance(base, list) and base == same,
          "llama.cpp's -m -ub --diffusion-steps --diffusion-block-length -s -t --temp --diffusion-algorithm")
    with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
        f.write('the cat')
    try:
        check(tokens(LLADA, '-f', f.name, '-n', '8', '--steps', '4') == tokens(LLADA, '-p', 'the cat', '-n', '8',
                                                                                '--steps', '4'),
              '-f FILE reads the prompt')
    finally:
        os.unlink(f.name)


def seeds():
    r = run('generate', LLADA, '-p', 'the cat', '-n', '8', '--steps', '4', '--temperature', '1', '-s', '-1', '--json')
    m = re.search(r'^textdiff: seed (\d+)$', r.stderr, re.M)
    ok = r.returncode == 0 and m and json.loads(r.stdout)['seed'] == int(m.group(1))
    check(bool(ok), '--seed -1 picks a seed, prints it and puts it in the JSON', r.stderr)
    if ok:
        again = tokens(LLADA, '-p', 'the cat', '-n', '8', '--steps', '4', '--temperature', '1', '-s', m.group(1))
        check(again == json.loads(r.stdout)['tokens'], 'the printed seed repeats the run')


def version():
    r, v = run('--version'), run('version')
    check(r.returncode == 0 and r.stdout == v.stdout and r.stdout.startswith('libtextdiff '), 'textdiff --version')


def errors():
    cases = [
        (('generate', LLADA, '-p', 'x', '--bogus'), r"^textdiff: generate: unknown option '--bogus'"),
        (('generate', LLADA, '--bogus', '-p', 'x'), r"^textdiff: generate: unknown option '--bogus'"),
        (('generate', LLADA, 'the cat'), r"^textdiff: generate: unexpected argument 'the cat': the prompt goes after -p"),
        (('generate', LLADA, '-p', 'x', '--strategy', 'foo'),
         r"^textdiff: unknown strategy 'foo' \(known: llada, dream, .*embedding, ar, bd3, bd3_first_hitting, spindle, planned\)"),
        (('generate', LLADA, '-p', 'x', '--steps'), r'^textdiff: generate: option --steps needs a value'),
        (('infill', LLADA, 'the [MASK:2] cat', '-n', '4'), r'^textdiff: infill has no option -n'),
        (('infill', LLADA, 'the [MASK:2] cat', '-p', 'x'), r'^textdiff: infill has no option -p'),
        (('infill', LLADA, 'the [MASK:0] cat'), r"^textdiff: infill: bad hole"),
        (('generate', LLADA, '--prompt-ids', '2046,2047,5', '-n', '4', '--steps', '2'),
         r'^textdiff: .*mask token.*textdiff infill'),
        (('detokenize', LLADA, '999999'), r'^textdiff: detokenize: id 999999 at index 0 is outside the vocabulary'),
        (('score', '--bogus'), r"^textdiff: score: unknown option '--bogus'"),
        (('eval', LLADA), r'^textdiff: eval: no judge: --judge AR.gguf'),
        (('eval', LLADA, '--judge', LLADA, '--bogus'), r"^textdiff: eval: unknown option '--bogus'"),
        (('eval', LLADA, '--judge', LLADA, '--samples', '0'), r"^textdiff: eval: --samples '0'"),
        (('eval', LLADA, '--judge', LLADA, '--compare', '--steps'), r'^textdiff: eval: option --steps needs a value'),
        (('tokenize', LLADA), r'^textdiff: tokenize: no text'),
        (('nosuchcommand',), r"^textdiff: unknown command 'nosuchcommand'"),
    ]
    for args, pattern in cases:
        r = run(*args)
        first = r.stderr.splitlines()[0] if r.stderr else ''
        ok = r.returncode != 0 and re.search(pattern, first) and 'tdiff_' not in r.stderr
        check(bool(ok), 'error: textdiff %s' % ' '.join(a if len(a) < 30 else a[:27] + '...' for a in args),
              'rc %d, stderr: %s' % (r.returncode, r.stderr.strip()))
    # infill "text" with no model: the text is not loaded as a model
    r = run('infill', 'It is a truth [MASK:3] acknowledged', '--steps', '3')
    check(r.returncode == 0 and 'cannot load' not in r.stderr, 'infill "text" without a model uses the bundled one',
          r.stderr)


def help_defaults():
    r = run('generate', '--help')
    lines = r.stdout.split('\noptions:\n', 1)[1].splitlines() if '\noptions:\n' in r.stdout else []
    entries, cur = [], ''
    for line in lines:  # an entry starts at column 2 with "-"
        if line.startswith('  -'):
            entries.append(cur)
            cur = line
        else:
            cur += ' ' + line.strip()
    entries = [e for e in entries + [cur] if e]
    no_default = ('--model', '--prompt', '--file', '--prompt-ids', '--chat', '--system', '--json', '--trace', '--help',
                  '--verbose')
    missing = [e.split()[0] for e in entries if 'default' not in e and not any(n in e.split(' ', 4)[:4] or
                                                                                 ' ' + n + ' ' in e for n in no_default)]
    check(r.returncode == 0 and len(entries) > 30 and not missing, 'generate --help shows every default',
          'without a default: %s' % missing)
    check('(default 64)' in r.stdout and '(default llada)' in r.stdout and '(default 0.9)' in r.stdout,
          'the defaults are the library\'s (steps 64, strategy llada, threshold 0.9)')


def under_terminal(args):
    """stderr of the tool with stderr on a pseudo-terminal (stdout a pipe)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([EXE] + list(args), stdout=subprocess.PIPE, stderr=slave, env=ENV)
    os.close(slave)
    err = b''
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    p.wait(timeout=120)
    os.close(master)
    return p.stdout.read().decode(errors='replace'), err.decode(errors='replace')


def progress():
    out, err = under_terminal(['generate', LLADA, '-p', 'the cat', '-n', '32', '--steps', '32', '--show-delay', '0'])
    check(re.search(r'step \d+/32', err) and 'tokens/s' in err and out.strip(),
          'generate on a terminal: steps, tokens/s, time left on stderr', repr(err[-300:]))
    check(re.search(r'step 32/32', err) is not None, 'the progress reaches the last step', repr(err[-200:]))
    _, err = under_terminal(['generate', LLADA, '-p', 'the cat', '-n', '64', '--steps', '64'])
    check(' s left' in err, 'time left is shown', repr(err[-300:]))
    with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
        f.write('the cat sat on the mat ' * 100)
    try:
        _, err = under_terminal(['score', LLADA, f.name, '--window', '64', '--samples', '4'])
        check(re.search(r'window \d+/\d+', err) is not None, 'score on a terminal: windows, tokens/s', repr(err[-300:]))
    finally:
        os.unlink(f.name)
    r = run('generate', LLADA, '-p', 'the cat', '-n', '8', '--steps', '4')
    check('step' not in r.stderr, 'no progress when stderr is not a terminal', r.stderr)
    r = run('generate', LLADA, '-p', 'the cat', '-n', '8', '--steps', '4', '-v')
    check(re.search(r'^textdiff: model loaded in .* 4 steps, 4 forward passes .* tokens/s, seed 0$', r.stderr, re.M)
          is not None, '-v prints the timing summary', r.stderr)


def bundled_fallback():
    r = run('tokenize', 'It is a truth')
    check(r.returncode == 0 and re.match(r'^\d+(,\d+)*$', r.stdout.strip()), 'tokenize TEXT uses the bundled model',
          r.stderr)
    r = run('info')
    check(r.returncode == 0 and 'austen-llada' in r.stdout, 'info uses the bundled model', r.stderr)
    with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
        f.write('It is a truth universally acknowledged')
    try:
        r = run('score', f.name, '--json', '--samples', '4')
        check(r.returncode == 0 and json.loads(r.stdout)['tokens'] > 0, 'score FILE uses the bundled model', r.stderr)
    finally:
        os.unlink(f.name)


def chat():
    plain = tokens(LLADA, '-p', 'the cat sat on the mat', '-n', '8', '--steps', '4')
    chat = tokens(LLADA, '--chat', '-p', 'the cat sat on the mat', '-n', '8', '--steps', '4')
    check(plain == chat, "generate --chat with the fixture's contents-only template equals plain -p")
    r = run('tokenize', LLADA, '--chat', 'the cat sat on the mat')
    check(r.stdout.strip() == '2046,116,468,258,301,274,301,270,110,275,468,268,301',
          "tokenize --chat: llama.cpp's prompt tokens for the fixture (tests/fixtures/README.md)", r.stdout + r.stderr)
    r = run('chat', LLADA, '-n', '8', '--steps', '4', stdin='the cat\n/reset\nsat on\n')
    check(r.returncode == 0 and len(r.stdout.splitlines()) == 2, 'chat: one answer per message, /reset',
          r.stdout + r.stderr)
    r = run('chat', LLADA, '-n', '8', '--steps', '4', '-p', 'the cat', stdin='')
    check(r.returncode == 0 and len(r.stdout.splitlines()) == 1, 'chat -p: the first message from the command line',
          r.stdout + r.stderr)


def autoregressive():
    """A llama.cpp-style llama file (tests/parity/make_ar_goldens.py): generate --strategy ar is greedy at
    temperature 0 and equals the reference's decoding (data/ar_greedy.txt); ar is the default there; the
    masked-diffusion strategies and infilling are refused with a reason."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'parity', 'data')
    model = os.path.join(data, 'ar-llama-f32.gguf')
    with open(os.path.join(data, 'ar_greedy.txt')) as f:
        line = next(ln for ln in f if ln.startswith('ar-llama-f32.gguf '))
    head, prompt, expect = line.split(':')
    n = head.split()[1]
    ids = ','.join(prompt.split())
    got = tokens(model, '--prompt-ids', ids, '-n', n, '--strategy', 'ar', '--threads', '2')
    check(got == [int(t) for t in expect.split()], 'generate --strategy ar: greedy = the reference decoding', str(got))
    check(tokens(model, '--prompt-ids', ids, '-n', n) == got, 'ar is the default strategy of a llama file')
    r = run('generate', model, '--prompt-ids', ids, '-n', '4', '--strategy', 'llada')
    check(r.returncode == 1 and 'use the ar strategy' in r.stderr, 'a llama file refuses --strategy llada',
          r.stderr)
    r = run('chat', model, '-n', '6', '-p', 'the cat', stdin='')
    check(r.returncode == 0 and len(r.stdout.splitlines()) == 1, 'chat runs a llama file (strategy ar)',
          r.stdout + r.stderr)
    r = run('infill', model, 'the [MASK:2] cat')
    check(r.returncode == 1 and 'infilling needs a masked diffusion model' in r.stderr, 'a llama file refuses infill',
          r.stderr)


def block_diffusion():
    """The converted BD3-LM layout (tests/parity/make_bd3_goldens.py): generate --strategy bd3 takes the block
    length from the file and replays the reference trajectory's final canvas (data/bd3_trajectories.txt, case
    bd3_ddpm), with and without the exact KV cache; another --block is refused with the file's."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'parity', 'data')
    model = os.path.join(data, 'bd3lm-f32.gguf')
    with open(os.path.join(data, 'bd3_trajectories.txt')) as f:
        lines = f.read().split('\n')
    start = lines.index('case bd3_ddpm')
    block = lines[start:lines.index('end', start)]
    canvas = next(ln for ln in block if ln.startswith('canvas ')).split()[2:]
    ints = {ln.split()[1]: ln.split()[2] for ln in block if ln.startswith('int ')}
    last = [int(t) for t in [ln for ln in block if ln.startswith('step ')][-1].split()[2:]]
    n_prompt = len(canvas) - int(ints['GEN_LENGTH'])
    for cache in ('none', 'dual'):
        got = tokens(model, '--prompt-ids', ','.join(canvas[:n_prompt]), '-n', ints['GEN_LENGTH'], '--strategy',
                     'bd3', '--steps', ints['STEPS'], '-s', ints['SEED'], '--cache', cache)
        check(got == last[n_prompt:], 'generate --strategy bd3 --cache %s: the reference trajectory' % cache,
              str(got))
    r = run('generate', model, '-p', 'x', '-n', '8', '--strategy', 'bd3', '--block', '8')
    check(r.returncode == 1 and 'blocks of 4' in r.stderr, 'bd3 refuses a block length other than the file\'s',
          r.stderr)


def spindle():
    """DiffusionBERT's reverse process on the random BERT-layout file of the parity suite: generate --strategy
    spindle writes text and decides every position, repeats under its seed, and --spindle-corpus (token counts
    from a text) changes the schedule and so the run."""
    model = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'parity', 'data', 'bert-f32.gguf')
    args = (model, '-p', '', '-n', '16', '--steps', '32', '--seed', '5', '--strategy', 'spindle')
    r = run('generate', *args)
    check(r.returncode == 0 and len(r.stdout.strip()) > 0, 'generate --strategy spindle on a BERT-layout file writes text',
          r.stderr)
    plain = tokens(*args)
    check(isinstance(plain, list) and len(plain) == 16 and 319 not in plain and tokens(*args) == plain,
          'spindle decides every position and repeats under its seed', str(plain))
    with tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False) as f:
        f.write('the cat sat on the mat. the dog sat on the log. ' * 20)
    try:
        corpus = tokens(*args, '--spindle-corpus', f.name)
        check(isinstance(corpus, list) and len(corpus) == 16 and corpus != plain,
              '--spindle-corpus counts change the spindle run', str(corpus))
    finally:
        os.unlink(f.name)


def main():
    for part in (version, aliases, seeds, errors, help_defaults, progress, bundled_fallback, chat, autoregressive,
                 block_diffusion, spindle):
        part()
    if failures:
        print('%d check(s) failed' % len(failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
