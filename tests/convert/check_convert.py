#!/usr/bin/env python3
"""check_convert.py TEXTDIFF_EXE -- tools/convert_hf.py end to end, numpy only.

For every synthetic checkpoint of synth.py (real layouts: sharded bf16 LLaDA and
Dream with index files, MDLM, BD3-LM, BERT; real-looking config and tokenizer files):
  1. the checkpoint is rebuilt and must be byte-identical to the one the goldens
     were made from (sha256 in data/goldens.json);
  2. `convert_hf.py DIR -o OUT --outtype f32` runs as a user would run it;
  3. the file's keys, value types, key order and tensor names for llada/dream are
     the ones llama.cpp's convert_hf_to_gguf.py writes (table below, read from its
     conversion/llada.py, conversion/dream.py, base.py and gguf-py);
  4. `textdiff forward` logits equal the float64 PyTorch forward of the original
     model code (make_goldens.py): max|d| <= 1e-4 * max(1, max|ref|); bf16 output of
     a bf16 checkpoint is exact, and so is f16 here, so the same bound holds; q8_0
     logits get a loose bound and its blocks must equal ggml's quantiser's;
  5. tokenizer keys: tokens, types, merges, special ids, add_bos, chat template;
  6. memory: converting a 4x deeper checkpoint does not raise the peak resident
     memory (streaming), with 1 MiB blocks so tensors span many blocks;
  7. chat: `textdiff tokenize --chat` on the converted LLaDA and Dream files gives
     llama.cpp's prompt ids for the goldens' conversations; the converter's
     progress line on a terminal.
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..')
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import gguf  # noqa: E402
import synth  # noqa: E402

CONVERT = os.path.join(ROOT, 'tools', 'convert_hf.py')
GOLD = json.load(open(os.path.join(HERE, 'data', 'goldens.json'), encoding='utf-8'))
S, U32, F32, BOOL, ARR, I32 = gguf.STRING, gguf.U32, gguf.F32, gguf.BOOL, gguf.ARRAY, gguf.I32

# Keys llama.cpp's converter writes, in its order (general.* descriptive keys from
# model cards aside: we write name and size_label of those).
LLADA_KEYS = [('general.architecture', S), ('general.type', S), ('general.name', S), ('general.size_label', S),
              ('llada.block_count', U32), ('llada.context_length', U32), ('llada.attention.head_count', U32),
              ('llada.attention.head_count_kv', U32), ('llada.rope.freq_base', F32),
              ('llada.attention.layer_norm_rms_epsilon', F32), ('general.file_type', U32), ('llada.vocab_size', U32),
              ('llada.rope.dimension_count', U32), ('llada.embedding_length', U32),
              ('llada.feed_forward_length', U32), ('llada.attention.causal', BOOL), ('diffusion.shift_logits', BOOL),
              ('general.quantization_version', U32), ('tokenizer.ggml.model', S), ('tokenizer.ggml.pre', S),
              ('tokenizer.ggml.tokens', ARR), ('tokenizer.ggml.token_type', ARR), ('tokenizer.ggml.merges', ARR),
              ('tokenizer.ggml.bos_token_id', U32), ('tokenizer.ggml.eos_token_id', U32),
              ('tokenizer.ggml.padding_token_id', U32), ('tokenizer.ggml.cls_token_id', U32),
              ('tokenizer.ggml.mask_token_id', U32), ('tokenizer.ggml.add_bos_token', BOOL),
              ('tokenizer.ggml.add_eos_token', BOOL), ('tokenizer.chat_template', S)]
DREAM_KEYS = [('general.architecture', S), ('general.type', S), ('general.name', S), ('general.size_label', S),
              ('dream.block_count', U32), ('dream.context_length', U32), ('dream.embedding_length', U32),
              ('dream.feed_forward_length', U32), ('dream.attention.head_count', U32),
              ('dream.attention.head_count_kv', U32), ('dream.rope.freq_base', F32),
              ('dream.attention.layer_norm_rms_epsilon', F32), ('general.file_type', U32),
              ('dream.attention.causal', BOOL), ('tokenizer.ggml.mask_token_id', U32),
              ('general.quantization_version', U32), ('tokenizer.ggml.model', S), ('tokenizer.ggml.pre', S),
              ('tokenizer.ggml.tokens', ARR), ('tokenizer.ggml.token_type', ARR), ('tokenizer.ggml.merges', ARR),
              ('tokenizer.ggml.bos_token_id', U32), ('tokenizer.ggml.eos_token_id', U32),
              ('tokenizer.ggml.padding_token_id', U32), ('tokenizer.chat_template', S)]
LAYER = ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down']
# bf16 checkpoints convert to bf16 and f16 exactly (8 mantissa bits fit in 10; these
# magnitudes are far from f16's range limits), so those get the f32 bound. q8_0 changes
# the weights (block max / 254 per value); its logits are checked loosely (measured 5.4e-2
# here: random weights of std 0.15 amplify the error; a wrong layout gives O(1)) and
# its weights exactly against ggml's quantiser (quantized_weights).
BOUND = {'f32': 1e-4, 'bf16': 1e-4, 'f16': 1e-4, 'q8_0': 0.15}

failures = []


def check(ok, what, detail=''):
    print('%-4s %s' % ('ok' if ok else 'FAIL', what))
    if not ok:
        failures.append(what)
        if detail:
            print('     ' + detail)


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(cmd), r.returncode, r.stderr.strip()))
    return r.stdout


def convert(d, out, outtype, extra=()):
    run([sys.executable, CONVERT, d, '-o', out, '--outtype', outtype, '-q'] + list(extra))
    return out


def layout(case, g):
    arch = case.split('-')[0]
    if arch not in ('llada', 'dream'):
        return
    want = LLADA_KEYS if arch == 'llada' else DREAM_KEYS
    got = [(k, v[0]) for k, v in g.kv.items()]
    check(got == want, '%s: keys, types and order as llama.cpp writes them' % case)
    if got != want:
        print('     got ', got)
    n_layer = g.kv[arch + '.block_count'][1]
    names = {t['name'] for t in g.tensors}
    expect = {'token_embd.weight', 'output_norm.weight', 'output.weight'}
    for i in range(n_layer):
        expect |= {'blk.%d.%s.weight' % (i, n) for n in LAYER}
        if arch == 'dream':
            expect |= {'blk.%d.%s.bias' % (i, n) for n in ('attn_q', 'attn_k', 'attn_v')}
    check(names == expect, '%s: tensor names as llama.cpp writes them' % case)
    types_ok = all(t['type'] == gguf.GGML_F32 for t in g.tensors)
    check(types_ok, '%s: every tensor F32 with --outtype f32' % case)


def tokenizer_keys(case, d, g):
    kv = {k: v[1] for k, v in g.kv.items()}
    cfg = json.load(open(os.path.join(d, 'config.json')))
    tokens = kv['tokenizer.ggml.tokens']
    check(len(tokens) == cfg['vocab_size'], '%s: one token per embedding row' % case)
    if case.startswith('llada'):
        tj = json.load(open(os.path.join(d, 'tokenizer.json'), encoding='utf-8'))
        spec = {t['id']: t['content'] for t in tj['added_tokens']}
        ok = all(tokens[i] == t for t, i in tj['model']['vocab'].items()) and all(tokens[i] == t for i, t in
                                                                                     spec.items())
        check(ok and tokens[-1] == '[PAD%d]' % (len(tokens) - 1), '%s: tokens from tokenizer.json, [PADi] after' % case)
        check(len(kv['tokenizer.ggml.merges']) == len(tj['model']['merges']), '%s: merges' % case)
        ids = {k: kv['tokenizer.ggml.%s_token_id' % k] for k in ('bos', 'eos', 'padding', 'cls', 'mask')}
        check(ids == {'bos': 364, 'eos': 365, 'padding': 365, 'cls': 366, 'mask': cfg['mask_token_id']} and
              kv['tokenizer.ggml.add_bos_token'] is True and kv['tokenizer.ggml.pre'] == 'llama-bpe',
              '%s: special ids, add_bos_token true (llama.cpp sets it for LLaDA), pre llama-bpe' % case)
    if case == 'dream-instruct':
        ids = {k: kv['tokenizer.ggml.%s_token_id' % k] for k in ('bos', 'eos', 'padding', 'mask')}
        check(ids == {'bos': 364, 'eos': 364, 'padding': 364, 'mask': 368} and kv['tokenizer.ggml.pre'] == 'qwen2',
              '%s: special ids from config.json (slow tokenizer), pre qwen2' % case)
        types = kv['tokenizer.ggml.token_type']
        check(types[364:369] == [3] * 5 and types[369:] == [5] * (len(types) - 369) and set(types[:364]) == {1},
              '%s: token types normal / control / unused' % case)
    if case.startswith('llada') or case == 'dream-instruct':
        tc = json.load(open(os.path.join(d, 'tokenizer_config.json'), encoding='utf-8'))
        check(kv['tokenizer.chat_template'] == tc['chat_template'], '%s: chat template carried' % case)
    if case in ('mdlm-owt', 'bd3lm-owt'):
        check(kv['tokenizer.ggml.mask_token_id'] == len(tokens) - 1 and tokens[-1] == '[MASK]',
              '%s: the appended row is the mask' % case)
    if case == 'bd3lm-owt':
        check(kv.get('tokenizer.ggml.eos_token_id') == len(tokens) - 2 and
              kv.get('tokenizer.ggml.bos_token_id') == len(tokens) - 2,
              '%s: BOS = EOS = <|endoftext|>, named by text in the slow tokenizer\'s config' % case)
        check(kv.get('tdiff.attention.block_length') == cfg['block_size'] and
              kv['general.architecture'] == 'tdiff', '%s: block-causal DiT, block length %d from config.json' %
              (case, cfg['block_size']))


def logits(exe, model, case, tmp, tag):
    npy = os.path.join(tmp, '%s-%s.npy' % (case, tag))
    cmd = [exe, 'forward', model, '--tokens', ','.join(map(str, GOLD['cases'][case]['tokens'])), '-o', npy]
    if case.startswith('mdlm') or case.startswith('bd3lm'):  # both files must ignore it (no time conditioning)
        cmd += ['--t', repr(GOLD['sigma'])]
    run(cmd)
    return np.load(npy).astype(np.float64)


def compare(case, tag, got, ref):
    scale = max(1.0, float(np.abs(ref).max()))
    err = float(np.abs(got - ref).max()) / scale if got.shape == ref.shape else float('inf')
    check(err <= BOUND[tag], '%s %s: max|d|/max(1,|ref|) = %.2e <= %.0e' % (case, tag, err, BOUND[tag]))


def quantized_weights(case, f32_file, q8_file):
    """Every matrix of the q8_0 file is ggml's Q8_0 of the f32 file's (ffn_down, whose
    rows of 172 are no multiple of 32, is F16 as llama.cpp falls back); norms F32."""
    ref = {t['name']: t for t in gguf.read(f32_file).tensors}
    ok = True
    for t in gguf.read(q8_file).tensors:
        x = gguf.dequantize(ref[t['name']])
        if t['name'].endswith('_norm.weight') or t['name'].endswith('.bias'):
            ok &= t['type'] == gguf.GGML_F32
        elif 'ffn_down' in t['name']:
            ok &= t['type'] == gguf.GGML_F16
        else:
            ok &= t['type'] == gguf.GGML_Q8_0 and t['data'] == gguf.quantize_q8_0(x)
    check(ok, '%s q8_0: types as llama.cpp picks them, blocks equal to ggml\'s quantiser' % case)


def chat_prompts(exe, case, model):
    """`textdiff tokenize --chat` (the tool's chat path) gives the ids of the prompt
    text jinja2 rendered from the carried template with llama.cpp's inputs and
    post-processing (make_goldens.py), tokenized as llama.cpp does (add + parse special)."""
    for g in GOLD['cases'][case]['chat']:
        msgs = dict(g['messages'])
        args = ['--system', msgs['system']] if 'system' in msgs else []
        got = run([exe, 'tokenize', model, '--chat'] + args + [msgs['user']]).strip()
        want = run([exe, 'tokenize', model, '--parse-special', g['prompt']]).strip()
        check(got == want and len(want.split(',')) > 10,
              '%s: chat prompt ids equal llama.cpp\'s for %d message(s)' % (case, len(g['messages'])))


def converter_progress(d, tmp):
    """On a terminal the converter shows tensors done, values/s and time left."""
    import pty
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, CONVERT, d, '-o', os.path.join(tmp, 'progress.gguf'), '--block-mib', '0.01'],
                         stdout=subprocess.PIPE, stderr=slave)
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
    text = err.decode(errors='replace')
    check(p.returncode == 0 and 'tensor ' in text and 'Mvalues/s' in text and ' left' in text,
          'convert on a terminal: tensors, speed, time left', repr(text[-200:]))


def peak_mib(cmd):
    """The converter's own report of its peak resident memory (VmHWM, MiB)."""
    out = run(cmd)
    return float(out.rsplit('peak memory', 1)[1].split()[0])


def memory(tmp):
    rows = []
    for layers in (4, 16):
        d = synth.write_llada_wide(os.path.join(tmp, 'wide%d' % layers), layers)
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if f.endswith('.safetensors'))
        peak = peak_mib([sys.executable, CONVERT, d, '-o', os.path.join(tmp, 'wide%d.gguf' % layers), '--outtype',
                         'f16', '--block-mib', '1'])
        rows.append((layers, size / 1048576.0, peak))
        print('     %2d layers: checkpoint %.1f MiB (bf16), converter peak memory %.1f MiB' % rows[-1])
    growth = rows[1][2] - rows[0][2]
    check(growth < 0.25 * (rows[1][1] - rows[0][1]),
          'memory: peak grows %.1f MiB for %.1f MiB more checkpoint (streamed)' % (growth, rows[1][1] - rows[0][1]))


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        for case in sorted(synth.CASES):
            gold = GOLD['cases'][case]
            d = synth.write(case, os.path.join(tmp, case))
            check(synth.digest(d) == gold['sha256'], '%s: synthetic checkpoint identical to the goldens\'' % case)
            extra = ['--tokenizer', os.path.join(d, 'gpt2-tokenizer')] if case in ('mdlm-owt', 'bd3lm-owt') else []
            ref = np.load(os.path.join(HERE, 'data', case + '.npy')).astype(np.float64)
            out = convert(d, os.path.join(tmp, case + '-f32.gguf'), 'f32', extra)
            g = gguf.read(out)
            layout(case, g)
            tokenizer_keys(case, d, g)
            compare(case, 'f32', logits(exe, out, case, tmp, 'f32'), ref)
            if 'chat' in gold:
                chat_prompts(exe, case, out)
            if case in ('llada-instruct', 'dream-instruct'):
                f32_file = out
                for t in ('bf16', 'f16', 'q8_0'):
                    out = convert(d, os.path.join(tmp, '%s-%s.gguf' % (case, t)), t, extra)
                    compare(case, t, logits(exe, out, case, tmp, t), ref)
                quantized_weights(case, f32_file, out)
        memory(tmp)
        converter_progress(os.path.join(tmp, 'wide16'), tmp)
    if failures:
        print('%d check(s) failed' % len(failures))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
