"""make_goldens.py -- writes the denoiser's parity data: tiny random models of
every architecture and weight type (tests/parity/data/*.gguf), and for each case
the inputs plus the logits of the PyTorch reference (reference.py) in a small
binary file (*.gold), listed in data/cases.txt. The C test
(tests/parity/test_denoiser_parity.c) runs the same inputs and compares.

Run: /usr/bin/python3 tests/parity/make_goldens.py   (needs torch; CI needs only the files)

.gold layout (little-endian):
  8 bytes  magic "TDGOLD01", or "TDGOLD02" when the case sets a block start
  u32 x 7  n, n_positions, n_vocab, attention (0 = model default), block_len (attention 4: span_earlier,
           0 = the model's setting, 1 = yes, 2 = no), has_t, name_len
  u32      block_start (TDGOLD02 only: where block-causal block 0 begins)
  f32 x 2  t, tolerance coefficient (max|d| <= tol * max(1, max|logit|))
  name_len bytes: the model file, relative to data/ or "fixture:<file>" for tests/fixtures
  i32[n] tokens, u32[n_positions] positions, u32[n] span ids (attention 4 only),
  f32[n_positions * n_vocab] logits
"""
import os
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
import gguf  # noqa: E402
import reference  # noqa: E402

DATA = os.path.join(HERE, 'data')
FIXTURES = os.path.join(HERE, '..', 'fixtures')
TOL_F32 = 1e-4    # issue 4: F32 weights
TOL_QUANT = 1e-3  # issue 4: F16/BF16/Q8_0/Q4_0 against the reference on the same dequantised weights

TYPES = {'f32': gguf.GGML_F32, 'f16': gguf.GGML_F16, 'bf16': gguf.GGML_BF16, 'q8_0': gguf.GGML_Q8_0,
         'q4_0': gguf.GGML_Q4_0}
V, D, L, FF, H, CTX = 320, 64, 2, 96, 4, 128   # every row length a multiple of 32 (Q8_0/Q4_0 blocks)


def randomise_norms(w, rng):
    """llama_like writes all-ones norm weights; parity needs random ones."""
    out = []
    for name, ttype, ne, data in w.tensors:
        if name.endswith('norm.weight'):
            data = gguf.encode_tensor((1.0 + 0.3 * rng.standard_normal(ne[0])).astype(np.float32), ttype)
        out.append((name, ttype, ne, data))
    w.tensors = out


def llama_model(arch, ttype, seed, **kw):
    w = gguf.llama_like(arch, n_vocab=V, n_embd=D, n_layer=L, n_ff=FF, n_head=H, n_ctx=CTX, ttype=ttype,
                        seed=seed, std=0.15, **kw)
    randomise_norms(w, np.random.default_rng(seed + 100))
    return w


def tdiff_model(kind, ttype, seed, scale_by_sigma=False):
    """A BERT-style MLM or an MDLM/SEDD-style DiT with our tdiff.* keys."""
    rng = np.random.default_rng(seed)

    def rand(*shape, std=0.15):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    def nw(n):
        return (1.0 + 0.3 * rng.standard_normal(n)).astype(np.float32)

    w = gguf.Writer()
    w.add('general.architecture', 'tdiff')
    w.add('general.name', 'random-%s' % kind)
    w.add('tdiff.context_length', CTX, gguf.U32)
    w.add('tdiff.embedding_length', D, gguf.U32)
    w.add('tdiff.block_count', L, gguf.U32)
    w.add('tdiff.feed_forward_length', FF, gguf.U32)
    w.add('tdiff.attention.head_count', H, gguf.U32)
    w.add('tdiff.norm.type', 'layer')
    if kind == 'bert':
        w.add('tdiff.norm.epsilon', 1e-12, gguf.F32)
        w.add('tdiff.norm.position', 'post')
        w.add('tdiff.ffn.type', 'gelu')
        w.add('tdiff.rope.type', 'none')
        w.add('tdiff.position.learned', True)
        w.add('tdiff.token_types', 2, gguf.U32)
        w.add('tdiff.embedding.norm', True)
        w.add('tdiff.head.transform', True)
    else:
        w.add('tdiff.norm.epsilon', 1e-5, gguf.F32)
        w.add('tdiff.norm.position', 'pre')
        w.add('tdiff.ffn.type', 'gelu_tanh')
        w.add('tdiff.rope.type', 'neox')
        w.add('tdiff.rope.freq_base', 10000.0, gguf.F32)
        w.add('tdiff.time.type', 'dit')
        w.add('tdiff.time.embedding_length', 32, gguf.U32)
        w.add('tdiff.time.frequency_dim', 64, gguf.U32)
        if scale_by_sigma:
            w.add('tdiff.time.scale_by_sigma', True)
    tokens, types, merges = gguf.byte_tokenizer(V)
    w.add('tokenizer.ggml.model', 'gpt2')
    w.add_array('tokenizer.ggml.tokens', tokens, gguf.STRING)
    w.add_array('tokenizer.ggml.token_type', types, gguf.I32)
    w.add_array('tokenizer.ggml.merges', merges, gguf.STRING)
    w.add('tokenizer.ggml.mask_token_id', V - 1, gguf.U32)

    f32 = gguf.GGML_F32
    w.add_tensor('token_embd.weight', rand(V, D), ttype)
    if kind == 'bert':
        w.add_tensor('position_embd.weight', rand(CTX, D), ttype)
        w.add_tensor('token_types.weight', rand(2, D), ttype)
        w.add_tensor('token_embd_norm.weight', nw(D), f32)
        w.add_tensor('token_embd_norm.bias', rand(D), f32)
    else:
        C, Q = 32, 64
        w.add_tensor('time_embd.in.weight', rand(C, Q, std=0.3), ttype)
        w.add_tensor('time_embd.in.bias', rand(C), f32)
        w.add_tensor('time_embd.out.weight', rand(C, C, std=0.3), ttype)
        w.add_tensor('time_embd.out.bias', rand(C), f32)
    for i in range(L):
        p = 'blk.%d.' % i
        for nm, rows, cols in (('attn_q', D, D), ('attn_k', D, D), ('attn_v', D, D), ('attn_output', D, D),
                               ('ffn_up', FF, D), ('ffn_down', D, FF)):
            w.add_tensor(p + nm + '.weight', rand(rows, cols), ttype)
            if kind == 'bert' or nm.startswith('ffn'):
                w.add_tensor(p + nm + '.bias', rand(rows), f32)
        w.add_tensor(p + 'attn_norm.weight', nw(D), f32)
        w.add_tensor(p + 'ffn_norm.weight', nw(D), f32)
        if kind == 'bert':
            w.add_tensor(p + 'attn_norm.bias', rand(D), f32)
            w.add_tensor(p + 'ffn_norm.bias', rand(D), f32)
        else:
            w.add_tensor(p + 'adaln.weight', rand(6 * D, 32, std=0.3), ttype)
            w.add_tensor(p + 'adaln.bias', rand(6 * D), f32)
    if kind == 'bert':
        w.add_tensor('output_transform.weight', rand(D, D), ttype)
        w.add_tensor('output_transform.bias', rand(D), f32)
        w.add_tensor('output_transform_norm.weight', nw(D), f32)
        w.add_tensor('output_transform_norm.bias', rand(D), f32)
        w.add_tensor('output.bias', rand(V), f32)     # decoder tied to token_embd, own bias
    else:
        w.add_tensor('output_norm.weight', nw(D), f32)
        w.add_tensor('output_adaln.weight', rand(2 * D, 32, std=0.3), ttype)
        w.add_tensor('output_adaln.bias', rand(2 * D), f32)
        w.add_tensor('output.weight', rand(V, D), ttype)
        w.add_tensor('output.bias', rand(V), f32)
    return w


def tdiff_mix_model(ttype, seed):
    """A tdiff file combining the options the presets leave out: RMSNorm + SwiGLU,
    adjacent-pair RoPE on half of each head (rope_dim 8 of 16), GQA, every linear
    bias, a tied head with its own bias, shifted logits, block-causal by default."""
    rng = np.random.default_rng(seed)

    def rand(*shape):
        return (rng.standard_normal(shape) * 0.15).astype(np.float32)

    w = gguf.Writer()
    w.add('general.architecture', 'tdiff')
    for k, v in (('context_length', CTX), ('embedding_length', D), ('block_count', L), ('feed_forward_length', FF),
                 ('attention.head_count', H), ('attention.head_count_kv', 2), ('attention.block_length', 4),
                 ('rope.dimension_count', 8)):
        w.add('tdiff.' + k, v, gguf.U32)
    w.add('tdiff.norm.type', 'rms')
    w.add('tdiff.norm.epsilon', 1e-6, gguf.F32)
    w.add('tdiff.ffn.type', 'swiglu')
    w.add('tdiff.rope.type', 'normal')
    w.add('tdiff.rope.freq_base', 5000.0, gguf.F32)
    w.add('diffusion.shift_logits', True)
    tokens, types, merges = gguf.byte_tokenizer(V)
    w.add('tokenizer.ggml.model', 'gpt2')
    w.add_array('tokenizer.ggml.tokens', tokens, gguf.STRING)
    w.add_array('tokenizer.ggml.token_type', types, gguf.I32)
    w.add_array('tokenizer.ggml.merges', merges, gguf.STRING)
    w.add('tokenizer.ggml.mask_token_id', V - 1, gguf.U32)
    w.add_tensor('token_embd.weight', rand(V, D), ttype)
    for i in range(L):
        p = 'blk.%d.' % i
        for nm, rows, cols in (('attn_q', D, D), ('attn_k', 32, D), ('attn_v', 32, D), ('attn_output', D, D),
                               ('ffn_gate', FF, D), ('ffn_up', FF, D), ('ffn_down', D, FF)):
            w.add_tensor(p + nm + '.weight', rand(rows, cols), ttype)
            w.add_tensor(p + nm + '.bias', rand(rows), gguf.GGML_F32)
        w.add_tensor(p + 'attn_norm.weight', (1 + rand(D) * 2).astype(np.float32), gguf.GGML_F16)
        w.add_tensor(p + 'ffn_norm.weight', (1 + rand(D) * 2).astype(np.float32), gguf.GGML_F16)
    w.add_tensor('output_norm.weight', (1 + rand(D) * 2).astype(np.float32))
    w.add_tensor('output.bias', rand(V))
    return w


def write_bad_models():
    """Small tdiff files the denoiser must refuse (tests/unit/denoiser): an extra
    (misspelt) tensor, and a tensor with the wrong shape."""
    def small(extra=None, bad_shape=False):
        rng = np.random.default_rng(9)
        w = gguf.Writer()
        w.add('general.architecture', 'tdiff')
        for k, v in (('context_length', 16), ('embedding_length', 32), ('block_count', 1),
                     ('feed_forward_length', 32), ('attention.head_count', 2)):
            w.add('tdiff.' + k, v, gguf.U32)
        w.add('tdiff.norm.type', 'rms')
        tokens, types, merges = gguf.byte_tokenizer(258)
        w.add('tokenizer.ggml.model', 'gpt2')
        w.add_array('tokenizer.ggml.tokens', tokens, gguf.STRING)
        w.add_array('tokenizer.ggml.token_type', types, gguf.I32)
        w.add_array('tokenizer.ggml.merges', merges, gguf.STRING)
        w.add('tokenizer.ggml.mask_token_id', 257, gguf.U32)
        r = lambda *sh: (rng.standard_normal(sh) * 0.1).astype(np.float32)  # noqa: E731
        w.add_tensor('token_embd.weight', r(258, 32))
        for nm in ('attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_gate', 'ffn_up', 'ffn_down'):
            w.add_tensor('blk.0.%s.weight' % nm, r(32, 16) if bad_shape and nm == 'attn_v' else r(32, 32))
        for nm in ('blk.0.attn_norm.weight', 'blk.0.ffn_norm.weight', 'output_norm.weight'):
            w.add_tensor(nm, 1 + r(32))
        if extra:
            w.add_tensor(extra, r(32))
        return w
    small().write(os.path.join(DATA, 'small-ok.gguf'))
    small(extra='blk.0.attn_q.bais').write(os.path.join(DATA, 'bad-extra-tensor.gguf'))
    small(bad_shape=True).write(os.path.join(DATA, 'bad-shape.gguf'))


def safe_t(g, tokens, t):
    """The first of t, t + 0.01, ... at which the time conditioning's quantised
    inputs (block-type weights, gemm.h) are all >= 2e-3 of a step from a rounding
    boundary: float32-level differences between the library and this float64
    reference cannot then flip one (a flip there reaches every row)."""
    for i in range(100):
        tt = round(t + 0.01 * i, 2)
        reference.Q8_MARGIN['single_row'] = float('inf')
        reference.forward(g, tokens[:1], None, tt)
        if reference.Q8_MARGIN['single_row'] >= 2e-3:
            return tt
    raise RuntimeError('no time value with a safe quantisation margin near %g' % t)


def write_gold(name, model_ref, g, tokens, positions=None, t=None, attention=0, block_len=0, span=None, tol=TOL_F32,
               block_start=None):
    spans = attention == reference.SPANS
    logits = reference.forward(g, tokens, positions, t, attention or None, None if spans else block_len or None,
                               span, block_start=block_start or 0, span_earlier=spans and block_len == 1).numpy()
    pos = list(range(len(tokens))) if positions is None else list(positions)
    nv = logits.shape[1]
    mref = model_ref.encode()
    out = bytearray(b'TDGOLD01' if block_start is None else b'TDGOLD02')
    out += struct.pack('<7I', len(tokens), len(pos), nv, attention, block_len, t is not None, len(mref))
    if block_start is not None:
        out += struct.pack('<I', block_start)
    out += struct.pack('<2f', 0.0 if t is None else t, tol)
    out += mref
    out += np.asarray(tokens, '<i4').tobytes() + np.asarray(pos, '<u4').tobytes()
    if attention == reference.SPANS:
        out += np.asarray(span, '<u4').tobytes()
    out += logits.astype('<f4').tobytes()
    with open(os.path.join(DATA, name + '.gold'), 'wb') as f:
        f.write(out)
    return name


def main():
    os.makedirs(DATA, exist_ok=True)
    rng = np.random.default_rng(7)
    cases = []
    toks20 = rng.integers(0, V, 20).tolist()
    toks7 = rng.integers(0, V, 7).tolist()

    def model(fname, w):
        path = os.path.join(DATA, fname)
        w.write(path)
        return gguf.read(path)

    # llada: every weight type; full logits (>= 16 rows: cblas_sgemm path) and a
    # few positions with repeats (< 16 rows: dot-product path).
    for tn, tt in TYPES.items():
        fn = 'llada-%s.gguf' % tn
        g = model(fn, llama_model('llada', tt, seed=1))
        tol = TOL_F32 if tn == 'f32' else TOL_QUANT
        cases.append(write_gold('llada-%s' % tn, fn, g, toks20, tol=tol))
        cases.append(write_gold('llada-%s-pos' % tn, fn, g, toks20, positions=[19, 0, 5, 5, 11], tol=tol))
    g = gguf.read(os.path.join(DATA, 'llada-f32.gguf'))
    cases.append(write_gold('llada-f32-short', 'llada-f32.gguf', g, toks7))
    cases.append(write_gold('llada-f32-causal', 'llada-f32.gguf', g, toks20, attention=reference.CAUSAL))
    cases.append(write_gold('llada-f32-block4', 'llada-f32.gguf', g, toks20, attention=reference.BLOCK_CAUSAL,
                            block_len=4))
    # block-causal blocks counted from a prompt's end (TDIFF_DENOISER_BLOCK_START), as the sampler sets them
    cases.append(write_gold('llada-f32-block4-start7', 'llada-f32.gguf', g, toks20, attention=reference.BLOCK_CAUSAL,
                            block_len=4, block_start=7))
    # planned diffusion: context + plan (6, causal), two spans of 5, the stream after them (4)
    span = [0] * 6 + [1] * 5 + [2] * 5 + [0] * 4
    cases.append(write_gold('llada-f32-spans', 'llada-f32.gguf', g, toks20, attention=reference.SPANS, span=span))
    # two rounds (the second round's spans see the first round's through the stream), spans
    # seeing their round's earlier spans (1) or not (2, explicit)
    span2 = [0] * 4 + [1] * 3 + [2] * 3 + [0] * 2 + [3] * 4 + [4] * 2 + [0] * 2
    cases.append(write_gold('llada-f32-spans-rounds', 'llada-f32.gguf', g, toks20, attention=reference.SPANS,
                            span=span2, block_len=2))
    cases.append(write_gold('llada-f32-spans-earlier', 'llada-f32.gguf', g, toks20, attention=reference.SPANS,
                            span=span2, block_len=1, positions=[19, 5, 8, 13, 17, 0]))

    # longer than one attention tile (64 rows) and several row blocks; a single token.
    toks100 = rng.integers(0, V, 100).tolist()
    cases.append(write_gold('llada-f32-long', 'llada-f32.gguf', g, toks100, positions=list(range(0, 100, 3))))
    cases.append(write_gold('llada-f32-long-block16', 'llada-f32.gguf', g, toks100, positions=list(range(1, 100, 3)),
                            attention=reference.BLOCK_CAUSAL, block_len=16))
    cases.append(write_gold('llada-f32-one', 'llada-f32.gguf', g, toks100[:1]))

    g = model('llada-tied-f32.gguf', llama_model('llada', gguf.GGML_F32, seed=2, tied=True))
    cases.append(write_gold('llada-tied-f32', 'llada-tied-f32.gguf', g, toks20))

    # dream: GQA (4 heads, 2 kv heads), Q/K/V biases, NeoX RoPE, shifted logits.
    for tn in TYPES:
        fn = 'dream-%s.gguf' % tn
        g = model(fn, llama_model('dream', TYPES[tn], seed=3, n_head_kv=2))
        tol = TOL_F32 if tn == 'f32' else TOL_QUANT
        cases.append(write_gold('dream-%s' % tn, fn, g, toks20, tol=tol))
        cases.append(write_gold('dream-%s-pos' % tn, fn, g, toks20, positions=[0, 1, 19, 7], tol=tol))

    # tdiff presets: BERT-style MLM and DiT (time-conditioned).
    for tn in TYPES:
        tol = TOL_F32 if tn == 'f32' else TOL_QUANT
        fn = 'bert-%s.gguf' % tn
        g = model(fn, tdiff_model('bert', TYPES[tn], seed=4))
        cases.append(write_gold('bert-%s' % tn, fn, g, toks20, tol=tol))
        fn = 'dit-%s.gguf' % tn
        g = model(fn, tdiff_model('dit', TYPES[tn], seed=5))
        cases.append(write_gold('dit-%s' % tn, fn, g, toks20, t=safe_t(g, toks20, 0.7), tol=tol))
        cases.append(write_gold('dit-%s-pos' % tn, fn, g, toks20, positions=[3, 17, 3], t=safe_t(g, toks20, 2.5),
                                tol=tol))

    # SEDD's scale_by_sigma output (small sigma takes the expm1 branch).
    g = model('sedd-f32.gguf', tdiff_model('dit', gguf.GGML_F32, seed=8, scale_by_sigma=True))
    cases.append(write_gold('sedd-f32', 'sedd-f32.gguf', g, toks20, t=0.3))
    cases.append(write_gold('sedd-f32-pos', 'sedd-f32.gguf', g, toks20, positions=[4, 4, 0], t=2.0))

    # tdiff with RMSNorm/SwiGLU/partial RoPE/GQA/biases/tied head/shift/block-causal default.
    for tn in ('f32', 'q8_0'):
        fn = 'mix-%s.gguf' % tn
        g = model(fn, tdiff_mix_model(TYPES[tn], seed=6))
        tol = TOL_F32 if tn == 'f32' else TOL_QUANT
        cases.append(write_gold('mix-%s' % tn, fn, g, toks20, tol=tol))
        cases.append(write_gold('mix-%s-full' % tn, fn, g, toks20, attention=reference.FULL, tol=tol))
        cases.append(write_gold('mix-%s-start5' % tn, fn, g, toks20, tol=tol, block_start=5))

    # llama.cpp-written fixtures: prompt of the fixtures README + 11 masks.
    prompt = [2046, 116, 468, 258, 301, 274, 301, 270, 110, 275, 468, 268, 301]
    toks = prompt + [2047] * 11
    for fx in ('llada-tiny.gguf', 'dream-tiny.gguf'):
        path = os.path.join(FIXTURES, fx)
        if os.path.exists(path):
            g = gguf.read(path)
            cases.append(write_gold('fixture-' + fx[:-5], 'fixture:' + fx, g, toks))
            cases.append(write_gold('fixture-' + fx[:-5] + '-pos', 'fixture:' + fx, g, toks,
                                    positions=list(range(13, 24))))

    write_bad_models()

    with open(os.path.join(DATA, 'cases.txt'), 'w') as f:
        f.write('# written by make_goldens.py: one case per line (data/<case>.gold)\n')
        for c in cases:
            f.write(c + '\n')
    print('wrote %d cases to %s' % (len(cases), DATA))


if __name__ == '__main__':
    main()
