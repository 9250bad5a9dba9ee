#!/usr/bin/env python3
"""make_random_judge.py MODEL.gguf OUT.gguf -- a tiny llama file with RANDOM weights
and MODEL's tokenizer (tokens, types, merges, BOS/EOS; no mask token), so that
`textdiff eval MODEL --judge OUT.gguf` runs where no trained autoregressive model
with that vocabulary exists. It is a smoke-test judge: its perplexities carry no
information about text quality (docs/evaluation.md). 2 layers, d 64, 4 heads (2 KV
heads), SwiGLU 96, context 512, weights N(0, 0.15²), seed 0; about 2 MB for 4096 tokens.
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402

D, L, FF, H, HKV, CTX = 64, 2, 96, 4, 2, 512


def main():
    src, out = sys.argv[1], sys.argv[2]
    g = gguf.read(src)
    kv = lambda k: g.kv[k][1]  # noqa: E731
    tokens = kv('tokenizer.ggml.tokens')
    V = len(tokens)
    rng = np.random.default_rng(0)
    rand = lambda *s: (rng.standard_normal(s) * 0.15).astype(np.float32)  # noqa: E731
    w = gguf.Writer()
    w.add('general.architecture', 'llama')
    w.add('general.name', 'random judge (smoke test only) for ' + os.path.basename(src))
    for k, v in (('context_length', CTX), ('embedding_length', D), ('block_count', L), ('feed_forward_length', FF),
                 ('attention.head_count', H), ('attention.head_count_kv', HKV), ('rope.dimension_count', D // H),
                 ('vocab_size', V)):
        w.add('llama.' + k, v, gguf.U32)
    w.add('llama.rope.freq_base', 10000.0, gguf.F32)
    w.add('llama.attention.layer_norm_rms_epsilon', 1e-5, gguf.F32)
    for k in ('tokenizer.ggml.model', 'tokenizer.ggml.pre'):
        if k in g.kv:
            w.add(k, kv(k))
    w.add_array('tokenizer.ggml.tokens', tokens, gguf.STRING)
    w.add_array('tokenizer.ggml.token_type', kv('tokenizer.ggml.token_type'), gguf.I32)
    if 'tokenizer.ggml.merges' in g.kv:
        w.add_array('tokenizer.ggml.merges', kv('tokenizer.ggml.merges'), gguf.STRING)
    for k in ('tokenizer.ggml.bos_token_id', 'tokenizer.ggml.eos_token_id'):
        if k in g.kv:
            w.add(k, kv(k), gguf.U32)
    for k in ('tokenizer.ggml.add_bos_token', 'tokenizer.ggml.add_eos_token'):
        if k in g.kv:
            w.add(k, kv(k), gguf.BOOL)
    dkv = HKV * (D // H)
    w.add_tensor('token_embd.weight', rand(V, D))
    w.add_tensor('output_norm.weight', np.ones(D, np.float32))
    w.add_tensor('output.weight', rand(V, D))
    for i in range(L):
        p = 'blk.%d.' % i
        for name, shape in (('attn_q', (D, D)), ('attn_k', (dkv, D)), ('attn_v', (dkv, D)), ('attn_output', (D, D)),
                            ('ffn_gate', (FF, D)), ('ffn_up', (FF, D)), ('ffn_down', (D, FF))):
            w.add_tensor(p + name + '.weight', rand(*shape))
        w.add_tensor(p + 'attn_norm.weight', np.ones(D, np.float32))
        w.add_tensor(p + 'ffn_norm.weight', np.ones(D, np.float32))
    w.write(out)
    print('wrote %s: random llama, %d tokens (tokenizer of %s)' % (out, V, src))


if __name__ == '__main__':
    main()
