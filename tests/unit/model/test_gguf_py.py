"""test_gguf_py.py -- checks tools/gguf.py against independent references (numpy only):

- its vectorised Q8_0 / Q4_0 quantisers equal a line-by-line scalar transcription
  of ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref (float32 arithmetic);
- f32 -> bf16 rounds to nearest even and keeps NaN a NaN;
- re-writing each llama.cpp fixture (read back with gguf.read) reproduces the
  file byte for byte: our writer lays out exactly what llama.cpp's gguf-py wrote;
- llama_like() writes the fixtures' keys (order, types) and tensor table.
Exit status 0 on success; any mismatch raises. Run by meson (suite 'model').
"""
import math
import os
import struct
import sys

import numpy as np

ROOT = os.environ.get('TDIFF_SOURCE_ROOT', os.path.join(os.path.dirname(__file__), '..', '..', '..'))
sys.path.insert(0, os.path.join(ROOT, 'tools'))
import gguf  # noqa: E402

F = np.float32


def f16_bytes(d):
    return np.array([d], dtype=np.float32).astype(np.float16).tobytes()


def ref_q8_0(x):
    """quantize_row_q8_0_ref, one block at a time, scalar float32."""
    out = b''
    for blk in x.reshape(-1, 32):
        amax = F(0)
        for v in blk:
            amax = max(amax, F(abs(v)))
        d = F(amax / F(127))
        idv = F(F(1) / d) if d != 0 else F(0)
        qs = []
        for v in blk:
            x0 = F(v * idv)
            qs.append(int(math.copysign(math.floor(abs(float(x0)) + 0.5), float(x0))))
        out += f16_bytes(d) + struct.pack('<32b', *qs)
    return out


def ref_q4_0(x):
    """quantize_row_q4_0_ref, one block at a time, scalar float32."""
    out = b''
    for blk in x.reshape(-1, 32):
        amax, mx = F(0), F(0)
        for v in blk:
            if amax < F(abs(v)):
                amax, mx = F(abs(v)), v
        d = F(mx / F(-8))
        idv = F(F(1) / d) if d != 0 else F(0)
        qs = bytearray(16)
        for j in range(16):
            x0 = F(blk[j] * idv)
            x1 = F(blk[16 + j] * idv)
            xi0 = min(15, int(F(x0 + F(8.5))))  # (int8_t) truncates toward zero
            xi1 = min(15, int(F(x1 + F(8.5))))
            qs[j] = xi0 | (xi1 << 4)
        out += f16_bytes(d) + bytes(qs)
    return out


def check_quantizers():
    rng = np.random.default_rng(7)
    blocks = [rng.standard_normal(32 * 8).astype(F), np.zeros(32, F),
              (rng.integers(-20, 20, 64) / 4).astype(F),  # exact halves: rounding ties
              np.full(32, -3.0, F), np.linspace(-1, 1, 32, dtype=F)]
    tie = np.zeros(32, F)
    tie[3], tie[9] = 2.0, -2.0  # equal magnitudes: ggml keeps the first
    blocks.append(tie)
    halves = np.zeros(32, F)  # d = 127/127 = 1: x/d hits .5 exactly, roundf goes away from zero
    halves[:6] = [127, 2.5, -3.5, 0.5, -0.5, 1.5]
    blocks.append(halves)
    for x in blocks:
        assert gguf.quantize_q8_0(x) == ref_q8_0(x), 'Q8_0 differs from ggml reference'
        assert gguf.quantize_q4_0(x) == ref_q4_0(x), 'Q4_0 differs from ggml reference'
    # dequantisation inverts the layout: values within one step
    x = blocks[0]
    assert np.allclose(gguf.dequantize_q8_0(gguf.quantize_q8_0(x), x.size), x, atol=np.abs(x).max() / 100)
    assert np.allclose(gguf.dequantize_q4_0(gguf.quantize_q4_0(x), x.size), x, atol=np.abs(x).max() / 7)


def check_bf16():
    bits = np.array([0x3f808000, 0x3f818000, 0x3f808001, 0x7fc00001, 0xff800000, 0x00000001], np.uint32)
    got = gguf.f32_to_bf16(bits.view(np.float32))
    assert list(got[:3]) == [0x3f80, 0x3f82, 0x3f81], got  # ties to even, above the tie rounds up
    assert (got[3] & 0x7f80) == 0x7f80 and (got[3] & 0x7f) != 0  # NaN stays NaN
    assert got[4] == 0xff80 and got[5] == 0


def rewrite(g):
    w = gguf.Writer(alignment=g.alignment)
    w.kv = []
    w._keys = set()
    for key, (t, v, et) in g.kv.items():
        if t == gguf.ARRAY:
            w.add_array(key, v, et)
        else:
            w.add(key, v, t)
    for t in g.tensors:
        w.add_raw_tensor(t['name'], t['type'], t['ne'], t['data'])
    return w.to_bytes()


def check_fixtures():
    fx = os.environ.get('TDIFF_FIXTURES', os.path.join(ROOT, 'tests', 'fixtures'))
    for arch, kv_heads in (('llada', 4), ('dream', 2)):
        path = os.path.join(fx, '%s-tiny.gguf' % arch)
        assert os.path.exists(path), 'missing fixture %s (tests/fixtures is part of the repository)' % path
        raw = open(path, 'rb').read()
        g = gguf.read(raw)
        assert rewrite(g) == raw, '%s: re-written file differs from the llama.cpp-written one' % arch
        mine = gguf.read(gguf.llama_like(arch, n_head_kv=kv_heads).to_bytes())
        assert [(k, v[0], v[2]) for k, v in g.kv.items()] == [(k, v[0], v[2]) for k, v in mine.kv.items()]
        for k, v in g.kv.items():
            if v[0] != gguf.ARRAY:
                assert v[1] == mine.kv[k][1], (k, v[1], mine.kv[k][1])
        assert [(t['name'], t['type'], t['ne'], t['offset']) for t in g.tensors] == \
               [(t['name'], t['type'], t['ne'], t['offset']) for t in mine.tensors]


if __name__ == '__main__':
    check_quantizers()
    check_bf16()
    check_fixtures()
    print('gguf.py: all checks passed')
