"""make_data.py -- writes the committed test files of tests/unit/model/data/ with
tools/gguf.py (numpy only), independently of the C reader:

  roundtrip.gguf + roundtrip.expect   every metadata type (scalars and arrays of
        each element type) and every tensor type, with what the C loader must
        report: key types and values, tensor shapes and bytes, and the F32 values
        numpy's dequantisers give (the C kernels must agree bit for bit).
  small.gguf                          a small valid file whose last tensor ends at
        the last byte (no trailing padding): every shorter prefix is truncated.
  llada-mini.gguf, dream-mini.gguf    valid tiny models (dream with tied output,
        Q8_0/Q4_0/F16/BF16 weights) and arch-*.gguf, each breaking ONE
        architecture rule (see the table at the end).

Run from the repository root:  /usr/bin/python3 tests/unit/model/make_data.py
"""
import os
import struct
import sys

import numpy as np

ROOT = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(ROOT, '..', '..', '..', 'tools'))
import gguf  # noqa: E402

OUT = os.path.join(ROOT, 'data')


def hexs(b):
    return b.hex() if b else '-'


def fmt_value(t, v):
    if t == gguf.STRING:
        return hexs(v.encode('utf-8') if isinstance(v, str) else v)
    if t == gguf.F32:
        return '%08x' % struct.unpack('<I', struct.pack('<f', v))[0]
    if t == gguf.F64:
        return '%016x' % struct.unpack('<Q', struct.pack('<d', v))[0]
    if t == gguf.BOOL:
        return '1' if v else '0'
    return str(int(v))


def roundtrip():
    w = gguf.Writer(alignment=64)
    scalars = [
        ('t.u8', 250, gguf.U8), ('t.i8', -128, gguf.I8), ('t.u16', 65535, gguf.U16),
        ('t.i16', -32768, gguf.I16), ('t.u32', 4294967295, gguf.U32), ('t.i32', -2147483648, gguf.I32),
        ('t.f32', -1.5e-7, gguf.F32), ('t.f32_inf', float('inf'), gguf.F32),
        ('t.bool_true', True, gguf.BOOL), ('t.bool_false', False, gguf.BOOL),
        ('t.str', 'h\u00e9llo \u4e16\u754c', gguf.STRING), ('t.str_empty', '', gguf.STRING),
        ('t.u64', 18446744073709551615, gguf.U64), ('t.i64', -9223372036854775808, gguf.I64),
        ('t.f64', 3.141592653589793, gguf.F64), ('t.u32_small', 7, gguf.U32), ('t.i32_neg1', -1, gguf.I32),
    ]
    for k, v, t in scalars:
        w.add(k, v, t)
    arrays = [
        ('a.u8', [0, 1, 255], gguf.U8), ('a.i8', [-128, 0, 127], gguf.I8), ('a.u16', [0, 65535], gguf.U16),
        ('a.i16', [-32768, 5], gguf.I16), ('a.u32', [1, 4294967295], gguf.U32),
        ('a.i32', [-2147483648, 0, 2147483647], gguf.I32), ('a.f32', [0.5, -2.25, 1e30], gguf.F32),
        ('a.bool', [True, False, True], gguf.BOOL), ('a.str', ['', 'a', 'b c', '\u0120x'], gguf.STRING),
        ('a.u64', [0, 18446744073709551615], gguf.U64), ('a.i64', [-9223372036854775808, 3], gguf.I64),
        ('a.f64', [1.0 / 3.0, -0.0], gguf.F64), ('a.empty', [], gguf.I32),
    ]
    for k, v, t in arrays:
        w.add_array(k, v, t)

    rng = np.random.default_rng(1234)
    tensors = [
        ('f32_1d', gguf.GGML_F32, (rng.standard_normal(7)).astype(np.float32)),
        ('f16_2d', gguf.GGML_F16, (rng.standard_normal((3, 5)) * 100).astype(np.float32)),
        ('bf16_3d', gguf.GGML_BF16, (rng.standard_normal((2, 3, 4)) * 1e3).astype(np.float32)),
        ('q8_0_2d', gguf.GGML_Q8_0, rng.standard_normal((3, 64)).astype(np.float32)),
        ('q4_0_4d', gguf.GGML_Q4_0, rng.standard_normal((2, 1, 2, 32)).astype(np.float32)),
        ('q8_0_zero', gguf.GGML_Q8_0, np.zeros((1, 32), np.float32)),
    ]
    for name, t, x in tensors:
        w.add_tensor(name, x, t)
    # K-quant super-blocks as random bytes (every bit of the scales, mins, qh and
    # quants is exercised) with finite f16 scales: normal, subnormal and the
    # largest, so the C kernels are checked against numpy over their whole range.
    kblocks = []
    for name, t, (nb, nbytes, half_offs) in [('q4_k_2d', gguf.GGML_Q4_K, (4, 144, (0, 2))),
                                             ('q5_k_2d', gguf.GGML_Q5_K, (4, 176, (0, 2))),
                                             ('q6_k_2d', gguf.GGML_Q6_K, (4, 210, (208,)))]:
        raw = rng.integers(0, 256, size=(nb, nbytes), dtype=np.uint8)
        scales = [np.float16(v) for v in (rng.standard_normal(nb) * 0.01)]
        scales[1] = np.float16(6e-8)      # subnormal
        scales[2] = np.float16(65504.0)   # largest finite
        for i in range(nb):
            for off in half_offs:
                raw[i, off:off + 2] = np.frombuffer(np.array([scales[i] if off == half_offs[0] else
                                                              np.float16(rng.standard_normal() * 0.01)],
                                                             dtype='<f2').tobytes(), dtype=np.uint8)
        w.add_raw_tensor(name, t, [512, 2], raw.tobytes())
        kblocks.append((name, t))
    b = w.to_bytes()
    with open(os.path.join(OUT, 'roundtrip.gguf'), 'wb') as f:
        f.write(b)

    g = gguf.read(b)
    lines = ['# roundtrip.expect: written by make_data.py; see test_roundtrip.c for the format']
    lines.append('alignment %d' % g.alignment)
    for k, v, t in scalars:
        lines.append('kv %s %d %d 1 %s' % (k, t, t, fmt_value(t, v)))
    for k, v, t in arrays:
        lines.append('kv %s %d %d %d %s' % (k, gguf.ARRAY, t, len(v), ' '.join(fmt_value(t, x) for x in v)))
    for name, t, x in tensors + [(n, t, None) for n, t in kblocks]:
        gt = g.tensor(name)
        deq = gguf.dequantize(gt).astype(np.float32).reshape(-1)
        if t == gguf.GGML_Q8_0:  # the quantiser must stay within half a step of the input
            step = np.abs(x.reshape(-1, 32)).max(axis=1) / 127.0
            # half a step, plus 127 steps times the f16 rounding of d (2^-11 relative)
            assert np.all(np.abs(deq.reshape(-1, 32) - x.reshape(-1, 32)) <= step[:, None] * (0.5 + 127 * 2.0 ** -11))
        ne = gt['ne'] + [1] * (4 - len(gt['ne']))
        lines.append('tensor %s %d %d %s %d %d' % (name, t, len(gt['ne']), ' '.join(map(str, ne)), len(gt['data']),
                                                   gt['offset']))
        lines.append('raw ' + gt['data'].hex())
        lines.append('f32 ' + ' '.join('%08x' % u for u in deq.view(np.uint32)))
    with open(os.path.join(OUT, 'roundtrip.expect'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def small():
    w = gguf.Writer()
    w.add('general.architecture', 'test')
    w.add('test.flag', True)
    w.add_array('test.ids', [3, 1, 2], gguf.I32)
    w.add_tensor('a', np.arange(8, dtype=np.float32))
    w.add_tensor('b', np.arange(4, dtype=np.float32).reshape(2, 2))
    b = w.to_bytes()
    g = gguf.read(b)
    end = g.data_offset + g.tensor('b')['offset'] + 16
    with open(os.path.join(OUT, 'small.gguf'), 'wb') as f:
        f.write(b[:end])  # the last tensor ends at the last byte


MINI = dict(n_vocab=260, n_embd=32, n_layer=2, n_ff=64, n_head=4, n_head_kv=2, n_ctx=256, std=0.5)


def mini(arch, **kw):
    args = dict(MINI)
    args.update(kw)
    return gguf.llama_like(arch, **args)


def rewrite(w, drop_keys=(), set_keys=(), drop_tensors=(), extra_tensors=()):
    """A copy of writer w without some keys/tensors, with some keys replaced."""
    out = gguf.Writer(alignment=w.alignment)
    out.kv = [(k, body) for k, body in w.kv if k not in drop_keys]
    for k, v, t in set_keys:
        out.kv = [(kk, body) for kk, body in out.kv if kk != k]
        tmp = gguf.Writer()
        if isinstance(v, list):
            tmp.add_array(k, v, t)
        else:
            tmp.add(k, v, t)
        out.kv += tmp.kv
    out.tensors = [x for x in w.tensors if x[0] not in drop_tensors]
    for name, x in extra_tensors:
        out.add_tensor(name, x)
    return out


def models():
    def save(name, w):
        w.write(os.path.join(OUT, name))

    save('llada-mini.gguf', mini('llada', n_head_kv=4, ttype=gguf.GGML_F16))
    save('dream-mini.gguf', mini('dream', tied=True, ttype=gguf.GGML_Q8_0, norm_type=gguf.GGML_F16))
    save('llada-q4.gguf', mini('llada', ttype=gguf.GGML_Q4_0, norm_type=gguf.GGML_BF16, tied=True))
    # one small layer, F16: the broken files stay ~16 KB each
    base = mini('llada', tied=True, n_layer=1, n_embd=16, n_ff=32, n_head=2, n_head_kv=1, ttype=gguf.GGML_F16)
    z = np.zeros
    bad = {
        'arch-missing-key.gguf': rewrite(base, drop_keys=['llada.block_count']),
        'arch-wrong-type.gguf': rewrite(base, set_keys=[('llada.block_count', 'two', gguf.STRING)]),
        'arch-heads-divide.gguf': rewrite(base, set_keys=[('llada.attention.head_count', 3, gguf.U32)]),
        'arch-kv-heads-divide.gguf': rewrite(base, set_keys=[('llada.attention.head_count_kv', 3, gguf.U32)]),
        'arch-mask-range.gguf': rewrite(base, set_keys=[('tokenizer.ggml.mask_token_id', 260, gguf.U32)]),
        'arch-no-mask.gguf': rewrite(base, drop_keys=['tokenizer.ggml.mask_token_id']),
        'arch-vocab-size.gguf': rewrite(base, set_keys=[('llada.vocab_size', 300, gguf.U32)]),
        'arch-token-types.gguf': rewrite(base, set_keys=[('tokenizer.ggml.token_type', [1] * 259, gguf.I32)]),
        'arch-shape.gguf': rewrite(base, drop_tensors=['blk.0.ffn_up.weight'],
                                   extra_tensors=[('blk.0.ffn_up.weight', z((32, 8), np.float32))]),
        'arch-missing-tensor.gguf': rewrite(base, drop_tensors=['blk.0.attn_k.weight']),
        'arch-extra-layer.gguf': rewrite(base, extra_tensors=[('blk.1.attn_norm.weight', z(16, np.float32))]),
        'arch-llada-bias.gguf': rewrite(base, extra_tensors=[('blk.0.attn_q.bias', z(16, np.float32))]),
        'arch-eps.gguf': rewrite(base, set_keys=[('llada.attention.layer_norm_rms_epsilon', -1.0, gguf.F32)]),
        'arch-rope-dim.gguf': rewrite(base, set_keys=[('llada.rope.dimension_count', 7, gguf.U32)]),
    }
    for name, w in bad.items():
        save(name, w)


if __name__ == '__main__':
    os.makedirs(OUT, exist_ok=True)
    roundtrip()
    small()
    models()
