"""make_corpus.py -- writes the seed corpora of the fuzz targets: corpus/tokenizer
and corpus/sampler in the byte layouts fuzz_tokenizer.c and fuzz_sampler.c read
(a vocabulary of each kind; every strategy through generate, infill and the step
API), and corpus/gguf with
tools/gguf.py: small valid files that reach every part of the loader (every
metadata type, every tensor type, a llada and a dream model that pass the
architecture checks, a GGUF v2 header, and copies of two unit-test files) and
of the modules that read files: tiny `tdiff` models the denoiser runs (a
BERT-style MLM, a DiT, RMSNorm + SwiGLU + RoPE with GQA) with byte-level BPE
tokenizers, and the llada one with soft-mask keys; corpus/serve: request bodies of every
endpoint of `textdiff serve` (tests/serve/check_serve.py's good and malformed ones)
behind fuzz_serve.c's endpoint/server byte; corpus/plan: plans for fuzz_plan.c (tag
parser). Run from the repository root:
    /usr/bin/python3 tests/fuzz/make_corpus.py          (every corpus)
    /usr/bin/python3 tests/fuzz/make_corpus.py serve    (corpus/serve only)
    /usr/bin/python3 tests/fuzz/make_corpus.py plan     (corpus/plan only)
"""
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
import gguf  # noqa: E402

OUT = os.path.join(HERE, 'corpus', 'gguf')


def save(name, b, sub='gguf'):
    d = os.path.join(HERE, 'corpus', sub)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(b)


# ---- fuzz_tokenizer.c: kind, pre, flags, extra tokens, merges, specials, OOM points, ids, text

def tokenizer_seed(kind, pre, flags, tokens, merges, specials, text, ids=()):
    out = bytes([kind, pre, flags, len(tokens)])
    for t, ty in tokens:
        out += bytes([len(t)]) + t + bytes([ty])
    out += bytes([len(merges)]) + b''.join(bytes([a, b]) for a, b in merges)
    out += bytes(specials) + bytes([3, 5]) + struct.pack('<H', len(ids))
    out += b''.join(struct.pack('<H', i) for i in ids)
    return out + text


def tokenizer_seeds():
    text = 'Hello world, 123 caf\u00e9 <|end|>\n\tspaces  here'.encode()
    # byte-level BPE: the 256 symbols, extras, merges joining extras
    toks = [(b'h', 1), (b'e', 1), (b'l', 1), (b'\xc4\xa0', 1), (b'<|end|>', 3), (b'o', 1)]
    save('bpe-default', tokenizer_seed(0, 0, 1 | 16, toks, [(0, 1), (2, 2), (3, 0)], [255] * 7, text,
                                       ids=range(250, 270)), 'tokenizer')
    save('bpe-llama3-special', tokenizer_seed(0, 2, 1 | 128, toks, [(0, 1), (1, 2)], [210, 255, 255, 255, 255,
                                              255, 255], text), 'tokenizer')
    save('bpe-qwen2-invalid-merge', tokenizer_seed(0, 3, 1 | 2, toks, [(0, 5)], [255] * 7, text), 'tokenizer')
    # WordPiece
    wp = [(b'[UNK]', 2), (b'[CLS]', 3), (b'[SEP]', 3), (b'hello', 1), (b'##lo', 1), (b'he', 1), (b'world', 1),
          (b',', 1), (b'##l', 1), (b'1', 1), (b'##23', 1)]
    save('wordpiece', tokenizer_seed(1, 5, 16 | 32, wp, [], [1, 2, 0, 255, 255, 2, 1], text.lower()), 'tokenizer')
    # SentencePiece with <0xNN> byte tokens
    sp = [('\u2581Hello'.encode(), 1), ('\u2581world'.encode(), 1), (b'<unk>', 2), (b'<s>', 3), (b'</s>', 3),
          ('\u2581'.encode(), 1), (b'lo', 1), (b'He', 1)]
    save('spm-bytes', tokenizer_seed(2, 5, 1 | 16, sp, [(7, 6)], [211, 212, 210, 255, 255, 255, 255], text),
         'tokenizer')
    save('spm-no-prefix', tokenizer_seed(2, 5, 64 | 128, sp, [], [255, 255, 2, 255, 255, 255, 255], text),
         'tokenizer')
    save('unknown-model', tokenizer_seed(3, 0, 0, toks, [], [255] * 7, text), 'tokenizer')


# ---- fuzz_sampler.c: see read_plan() for the layout

STRATEGIES = range(1, 14)


def sampler_seed(strategy, mode, infill, V=20, steps=4, gen=8, block=0, graph=0, sched=0, ints=None, ops=b'',
                 banned=(), prompt=(1, 2, 3), canvas=None, temperature=None):
    out = bytes([V - 2, V - 1, V - 2 + 1, (infill & 1) | (mode << 1) | (graph << 2) | (sched << 4), steps - 1])
    values = {0: strategy - 1, 3: steps - 1, 4: gen - 1, 5: block}
    values.update(ints or {})
    bits = sum(1 << i for i in values)
    out += struct.pack('<I', bits)
    for i in sorted(values):
        out += bytes([2]) + struct.pack('<H', values[i])
    if temperature is None:
        out += bytes([0])
    else:
        out += bytes([1, 2]) + struct.pack('<H', int(temperature / 100 * 65535))
    out += bytes([0, len(banned)]) + bytes(banned) if banned else bytes([1])
    seq = canvas if infill else prompt
    out += bytes([len(seq)]) + bytes(seq)
    out += bytes([1])                      # output capacity: room for everything
    out += bytes([len(ops)]) + ops
    out += bytes([1, 0])                   # the network never fails
    pool = b''
    for k in range(64):                    # moderate logits
        pool += bytes([(k * 37) % 200]) + struct.pack('<H', (k * 7919) % 65536)
    return out + pool + bytes([1, 1])      # the last byte: no allocation failure


def sampler_seeds():
    for st in STRATEGIES:
        graph = 2 if st in (9, 11, 12) else 0
        sched = 2 if st in (11, 12) else 0     # SEDD: the log-linear schedule (finite sigma at t = 1)
        canvas = [161, 162] + [0] * 6 + [170]  # in infill canvases bytes < 160 are masks, others id % V
        save('s%02d-generate' % st, sampler_seed(st, 0, 0, graph=graph, sched=sched), 'sampler')
        save('s%02d-infill' % st, sampler_seed(st, 0, 1, graph=graph, sched=sched, canvas=canvas), 'sampler')
        save('s%02d-steps' % st, sampler_seed(st, 1, 0, graph=graph, sched=sched, ops=bytes([0, 3, 4, 5, 12, 0, 0, 0])),
             'sampler')
    save('llada-blocks-temp', sampler_seed(1, 0, 0, gen=8, block=4, steps=4, temperature=0.7, banned=(5, 6)),
         'sampler')
    save('dream-topk-topp', sampler_seed(2, 1, 1, ints={6: 3, 7: 99}, temperature=1.0,
                                         canvas=[170, 100, 100, 175, 100]), 'sampler')
    save('llamacpp-compat-cut', sampler_seed(1, 0, 0, ints={2: 1, 9: 1}, gen=8), 'sampler')
    save('steps-cancel', sampler_seed(3, 1, 0, ops=bytes([0, 6, 0])), 'sampler')


def tiny_tdiff(kind):
    """A `tdiff` model small enough to mutate (~8 KB): d 8, 2 heads, 1 layer,
    ff 16, context 8, F16 matrices, the 258-token byte tokenizer."""
    rng = np.random.default_rng(7)
    V, D, FF, CTX, C, Q = 258, 8, 16, 8, 8, 8

    def rand(*shape):
        return (rng.standard_normal(shape) * 0.2).astype(np.float32)

    w = gguf.Writer()
    w.add('general.architecture', 'tdiff')
    for k, v in (('context_length', CTX), ('embedding_length', D), ('block_count', 1),
                 ('feed_forward_length', FF), ('attention.head_count', 2)):
        w.add('tdiff.' + k, v, gguf.U32)
    if kind == 'bert':
        w.add('tdiff.norm.type', 'layer')
        w.add('tdiff.norm.position', 'post')
        w.add('tdiff.ffn.type', 'gelu')
        w.add('tdiff.position.learned', True)
        w.add('tdiff.token_types', 2, gguf.U32)
        w.add('tdiff.embedding.norm', True)
        w.add('tdiff.head.transform', True)
    elif kind == 'dit':
        w.add('tdiff.norm.type', 'layer')
        w.add('tdiff.ffn.type', 'gelu_tanh')
        w.add('tdiff.rope.type', 'neox')
        w.add('tdiff.time.type', 'dit')
        w.add('tdiff.time.embedding_length', C, gguf.U32)
        w.add('tdiff.time.frequency_dim', Q, gguf.U32)
    else:
        w.add('tdiff.attention.head_count_kv', 1, gguf.U32)
        w.add('tdiff.attention.block_length', 4, gguf.U32)
        w.add('tdiff.norm.type', 'rms')
        w.add('tdiff.ffn.type', 'swiglu')
        w.add('tdiff.rope.type', 'normal')
        w.add('diffusion.shift_logits', True)
    tokens, types, merges = gguf.byte_tokenizer(V)
    w.add('tokenizer.ggml.model', 'gpt2')
    w.add_array('tokenizer.ggml.tokens', tokens, gguf.STRING)
    w.add_array('tokenizer.ggml.token_type', types, gguf.I32)
    w.add_array('tokenizer.ggml.merges', merges[:8], gguf.STRING)
    w.add('tokenizer.ggml.mask_token_id', V - 1, gguf.U32)
    f16, f32 = gguf.GGML_F16, gguf.GGML_F32
    dkv = D // 2 if kind == 'mix' else D
    w.add_tensor('token_embd.weight', rand(V, D), f16)
    if kind == 'bert':
        w.add_tensor('position_embd.weight', rand(CTX, D), f16)
        w.add_tensor('token_types.weight', rand(2, D), f16)
        w.add_tensor('token_embd_norm.weight', 1 + rand(D), f32)
    if kind == 'dit':
        w.add_tensor('time_embd.in.weight', rand(C, Q), f16)
        w.add_tensor('time_embd.out.weight', rand(C, C), f16)
    mats = [('attn_q', D, D), ('attn_k', dkv, D), ('attn_v', dkv, D), ('attn_output', D, D),
            ('ffn_up', FF, D), ('ffn_down', D, FF)]
    if kind == 'mix':
        mats.append(('ffn_gate', FF, D))
    for nm, rows, cols in mats:
        w.add_tensor('blk.0.%s.weight' % nm, rand(rows, cols), f16)
    w.add_tensor('blk.0.attn_q.bias', rand(D), f16)
    w.add_tensor('blk.0.attn_norm.weight', 1 + rand(D), f32)
    w.add_tensor('blk.0.ffn_norm.weight', 1 + rand(D), f16)
    if kind == 'dit':
        w.add_tensor('blk.0.adaln.weight', rand(6 * D, C), f16)
        w.add_tensor('output_adaln.weight', rand(2 * D, C), f16)
    if kind == 'bert':
        w.add_tensor('output_transform.weight', rand(D, D), f16)
        w.add_tensor('output_transform_norm.weight', 1 + rand(D), f32)
    else:
        w.add_tensor('output_norm.weight', 1 + rand(D), f32)
    w.add_tensor('output.bias', rand(V), f32)
    return w


# ---- fuzz_serve.c: one byte (endpoint in bits 0-2: 0 completions, 1 infill, 2 score, 3 tokenize,
# 4 detokenize; server in bits 3-4: 0 the fixture, 1 no mask token, 2 no tokenizer, 3 small limits), the body

SERVE = {
    'completions': [
        b'{"prompt": "the cat", "max_tokens": 16, "steps": 8, "seed": 7, "temperature": 0.8, '
        b'"remasking": "entropy"}',
        b'{"prompt": [2046, 116, 468, 258], "max_tokens": 16, "steps": 8, "seed": 7, "temperature": 0.8, '
        b'"remasking": "entropy"}',
        b'{"prompt": "the cat", "max_tokens": 16, "steps": 8, "strategy": 1, "remasking": 4, "stop": ["at"]}',
        b'{"prompt": "the cat", "max_tokens": 8, "steps": 4, "stream": true, "strategy": "d3pm", '
        b'"graph": "uniform", "top_k": 5, "top_p": 0.9, "cfg_scale": 1.5, "block_length": 4, "compat": "llamacpp"}',
        b'{"prompt": "x", "steps": 0, "stream": true}',
        b'{"prompt": "x", "model": "llada-tiny", "user": "u", "n": 1, "echo": false, "logprobs": null, '
        b'"threshold": 0.5, "factor": 2, "alg_temp": 0.1, "eps": 0.001, "eos_confidence_inf": true, '
        b'"cut_at_eos": false, "keep_history": 0, "clamp": 1, "gauss_schedule": 1, "ddim": true, "subs": 0, '
        b'"gen_length": 4, "seed": 9223372036854775807}',
        b'{"prompt": "x",',
        b'[1, 2]',
        b'{"prompt": "x", "stepz": 3}',
        b'{"prompt": "x", "steps": "many"}',
        b'{"prompt": "x", "steps": 1e9}',
        b'{"prompt": "x", "temperature": -1}',
        b'{"prompt": "x", "strategy": "nope"}',
        b'{"prompt": "x", "n_threads": 8}',
        b'{"prompt": "x", "stat_steps": 8}',
        b'{"prompt": "x", "n": 2}',
        b'{"prompt": "x", "prompt": "y"}',
        b'{"steps": 4}',
        b'{"prompt": [1, 99999]}',
        b'{"prompt": "x", "max_tokens": 5000}',
        b'{"prompt": "x", "suffix": "y"}',
        b'{"prompt": "x", "stop": ["a", "b", "c", "d", "e"]}',
    ],
    'infill': [
        b'{"text": "the [MASK:3] sat on the [MASK:2].", "steps": 5, "seed": 3}',
        b'{"segments": ["the ", 3, " sat on the ", 2, "."], "steps": 5, "seed": 3}',
        b'{"segments": [2, "a"], "stream": true}',
        b'{"text": "a [MASK:4] b", "steps": 4, "stream": true}',
        b'{"text": "no holes"}',
        b'{"text": "bad [MASK:x] hole"}',
        b'{"text": "a [MASK:2]", "segments": ["a", 2]}',
    ],
    'score': [
        b'{"text": "the cat sat on the mat", "samples": 8, "seed": 2}',
        b'{"text": "the cat", "samples": 2, "window": 4, "method": "antithetic", "schedule": "cosine2"}',
        b'{"text": "the cat", "method": "stratified", "schedule": "linear", "model": "m"}',
        b'{"text": ""}',
        b'{"text": "x", "samples": 0}',
    ],
    'tokenize': [
        b'{"text": "the cat sat on the mat", "with_pieces": true}',
        b'{"text": "the cat sat on the mat", "add_special": false}',
        b'{"content": "<|mdm_mask|> x", "parse_special": true, "model": "m"}',
        b'{"txt": "x"}',
    ],
    'detokenize': [
        b'{"tokens": [2046, 116, 468, 258, 301, 274, 301]}',
        b'{"tokens": [0, 1, 2], "render_special": true}',
        b'{"tokens": [-1]}',
    ],
}
SERVE_GARBAGE = [b'', b'\x00' * 10, b'[' * 200 + b']' * 200, b'{"text": "\\u0000\\ud800"}',
                 b'{"prompt": "\\u00e9\xff\xfe"}']


def serve_seeds():
    for ep, (name, bodies) in enumerate(SERVE.items()):
        for i, body in enumerate(bodies):
            save('%s-%02d' % (name, i), bytes([ep]) + body, 'serve')
        for i, body in enumerate(SERVE_GARBAGE):  # every endpoint gets the garbage too
            save('%s-garbage-%d' % (name, i), bytes([ep]) + body, 'serve')
    # the other servers: autoregressive, no tokenizer, small limits
    save('ar-infill', bytes([1 | 8]) + SERVE['infill'][0], 'serve')
    save('ar-score', bytes([2 | 8]) + SERVE['score'][0], 'serve')
    save('ar-completions', bytes([0 | 8]) + SERVE['completions'][1], 'serve')
    save('notok-completions', bytes([0 | 16]) + SERVE['completions'][0], 'serve')
    save('notok-completions-ids', bytes([0 | 16]) + SERVE['completions'][1], 'serve')
    save('notok-tokenize', bytes([3 | 16]) + SERVE['tokenize'][0], 'serve')
    save('notok-detokenize', bytes([4 | 16]) + SERVE['detokenize'][0], 'serve')
    save('small-completions', bytes([0 | 24]) + SERVE['completions'][0], 'serve')
    # past the limits: a prompt and a canvas longer than the fixture's context (4096), byte tokens that are no UTF-8
    long = b' a b' * 2100
    save('completions-too-long', b'\x00{"prompt": "' + long + b'", "stop": null}', 'serve')
    save('infill-too-long', b'\x01{"segments": ["' + long + b'", 1]}', 'serve')
    save('infill-too-many-holes', b'\x01{"segments": ["x", 4096]}', 'serve')
    save('score-window-0', b'\x02{"text": "x", "window": 0, "seed": -1}', 'serve')
    save('detokenize-overlong', b'\x04{"tokens": [224, 128, 237, 160, 128, 255]}', 'serve')
    # jansson refuses "\\u0000" (no JSON_ALLOW_NUL): stop strings are C strings
    save('completions-stop-nul', b'\x00{"prompt": "the cat", "stop": ["a\\u0000b", "\\u0000", "x"]}', 'serve')


def main():
    os.makedirs(OUT, exist_ok=True)
    w = gguf.Writer(alignment=8)
    for i, t in enumerate([gguf.U8, gguf.I8, gguf.U16, gguf.I16, gguf.U32, gguf.I32, gguf.U64, gguf.I64]):
        w.add('k.int%d' % i, 1, t)
    w.add('k.f32', 0.5, gguf.F32)
    w.add('k.f64', 0.25, gguf.F64)
    w.add('k.bool', True)
    w.add('k.str', 'abc')
    w.add_array('k.astr', ['x', 'yz'], gguf.STRING)
    w.add_array('k.ai32', [1, -2], gguf.I32)
    w.add_array('k.af32', [1.5], gguf.F32)
    w.add_array('k.abool', [True, False], gguf.BOOL)
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(2, 32)
    for name, t in [('f32', gguf.GGML_F32), ('f16', gguf.GGML_F16), ('bf16', gguf.GGML_BF16),
                    ('q8', gguf.GGML_Q8_0), ('q4', gguf.GGML_Q4_0)]:
        w.add_tensor(name, x, t)
    save('types.gguf', w.to_bytes())
    v2 = bytearray(w.to_bytes())
    v2[4] = 2
    save('types-v2.gguf', bytes(v2))

    tiny = dict(n_vocab=258, n_embd=32, n_layer=1, n_ff=32, n_head=2, n_head_kv=1, n_ctx=64, tied=True)
    save('llada.gguf', gguf.llama_like('llada', ttype=gguf.GGML_Q4_0, **tiny).to_bytes())
    save('dream.gguf', gguf.llama_like('dream', ttype=gguf.GGML_Q8_0, **tiny).to_bytes())
    e = gguf.Writer()
    e.add('general.architecture', 'tdiff')
    save('empty-model.gguf', e.to_bytes())
    for kind in ('bert', 'dit', 'mix'):
        save('tdiff-%s.gguf' % kind, tiny_tdiff(kind).to_bytes())
    sm = gguf.llama_like('llada', ttype=gguf.GGML_F16, **tiny)
    sm.add('tdiff.softmask.top_k', 3, gguf.U32)
    save('llada-softmask.gguf', sm.to_bytes())
    for name in ('small.gguf', 'roundtrip.gguf'):  # the unit tests' files (make_data.py)
        with open(os.path.join(HERE, '..', 'unit', 'model', 'data', name), 'rb') as f:
            save(name, f.read())
    tokenizer_seeds()
    sampler_seeds()
    plan_seeds()
    serve_seeds()


# ---- fuzz_plan.c: max_spans, max_len (u16), default_len, scale byte, then tokens
# (b % 32: < 10 digit, 10 <promise>, 11 </promise>, 12 <async>, 13 </async>, 14 <sync/>; else text)

def plan_seeds():
    P, Q, A, Z, S, T = 10, 11, 12, 13, 14, 20
    def seed(toks, spans=8, max_len=64, default=16, scale=31):
        return bytes([spans, max_len & 255, max_len >> 8, default, scale]) + bytes(toks)
    save('two-entries', seed([T, P, T, 1, 2, Q, P, T, 7, Q, A]), 'plan')
    save('unclosed-no-length', seed([P, T, T, P, 3, S]), 'plan')
    save('zero-and-oversized', seed([P, 0, Q, P, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, Q, P, 5, T, 6, Q]), 'plan')
    save('too-many-scaled', seed([P, 4, Q] * 12, spans=3, scale=7), 'plan')
    save('stray-tags', seed([Q, Z, A, S, T, 3, Q, P]), 'plan')


if __name__ == '__main__':
    if sys.argv[1:] == ['plan']:
        plan_seeds()
    elif sys.argv[1:] == ['serve']:
        serve_seeds()
    else:
        main()
