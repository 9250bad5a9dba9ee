"""gguf.py -- a numpy-only GGUF v3 writer and reader (our own code), for tests,
converters and the trainer. It writes the same layout as llama.cpp's gguf-py:
header, metadata, tensor infos, padding to `general.alignment`, tensor data with
every tensor padded to the alignment.

API
---
Value types (GGUF numbers): U8 I8 U16 I16 U32 I32 F32 BOOL STRING ARRAY U64 I64 F64.
Tensor types (ggml numbers): GGML_F32=0 GGML_F16=1 GGML_Q4_0=2 GGML_Q8_0=8 GGML_Q4_K=12
GGML_Q5_K=13 GGML_Q6_K=14 GGML_BF16=30 (the K types are read and dequantised, not written
by add_tensor: use add_raw_tensor with blocks made elsewhere).

Writer(alignment=32, version=3)
    .add(key, value, vtype=None, replace=False)
                                          scalar; vtype inferred when None:
                                          str->STRING, bool->BOOL, int->U32 (I32 if < 0), float->F32;
                                          replace: a repeated key keeps its place, new value
    .add_array(key, values, elem_type)    array of one element type (STRING for str lists)
    .add_tensor(name, values, ttype=GGML_F32)
                                          values: numpy array, numpy shape order (outermost
                                          first); it is stored with ne = reversed(shape).
                                          F16/BF16/Q8_0/Q4_0 are converted/quantised here
                                          (ggml's reference quantisers).
    .add_raw_tensor(name, ttype, ne, data) exact bytes with ne (innermost first)
    .add_tensor_stream(name, ttype, ne, nbytes, chunks)
                                          data produced while writing: chunks() yields
                                          bytes whose lengths add up to nbytes (converters
                                          stream checkpoints through this, one slice at a time)
    .to_bytes() -> bytes ; .write(path)   write() holds one streamed chunk at a time
    The alignment key general.alignment is written (as U32) only when alignment != 32
    or when added explicitly with .add().

read(path_or_bytes) -> Gguf with
    .version, .alignment, .kv: dict key -> (vtype, value, elem_type or None) in file order,
    .tensors: list of dicts {name, type, ne (innermost first), offset, data (bytes)},
    .tensor(name) -> dict ; dequantize(t) -> numpy float32 array of shape reversed(ne)

Quantisers: quantize_q8_0(x), quantize_q4_0(x) -> bytes (x float32, size % 32 == 0);
dequantize_q8_0 / dequantize_q4_0 / dequantize_q4_k / dequantize_q5_k / dequantize_q6_k
(bytes, n) -> float32, each written from the block layout documented next to it. fp32 -> bf16 rounds to
nearest even (NaN kept quiet), as ggml's GGML_FP32_TO_BF16.

Models: llama_like(arch, ...) -> Writer with exactly the keys and tensor names of the
llada/dream fixtures in tests/fixtures (same order, same value types);
write_llada(path, **kw), write_dream(path, **kw); byte_tokenizer(n_vocab) gives a
synthetic byte-level vocabulary (256 GPT-2 byte symbols, fillers, then
<|endoftext|> and <|mdm_mask|>).
"""
import struct

import numpy as np

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
GGML_F32, GGML_F16, GGML_Q4_0, GGML_Q8_0, GGML_BF16 = 0, 1, 2, 8, 30
GGML_Q4_K, GGML_Q5_K, GGML_Q6_K = 12, 13, 14
QK_K = 256  # elements of a K-quant super-block

_SCALAR_FMT = {U8: '<B', I8: '<b', U16: '<H', I16: '<h', U32: '<I', I32: '<i', F32: '<f',
               BOOL: '<B', U64: '<Q', I64: '<q', F64: '<d'}
# (block elements, block bytes)
BLOCK = {GGML_F32: (1, 4), GGML_F16: (1, 2), GGML_BF16: (1, 2), GGML_Q8_0: (32, 34), GGML_Q4_0: (32, 18),
         GGML_Q4_K: (QK_K, 144), GGML_Q5_K: (QK_K, 176), GGML_Q6_K: (QK_K, 210)}
TYPE_NAMES = {GGML_F32: 'F32', GGML_F16: 'F16', GGML_BF16: 'BF16', GGML_Q8_0: 'Q8_0', GGML_Q4_0: 'Q4_0',
              GGML_Q4_K: 'Q4_K', GGML_Q5_K: 'Q5_K', GGML_Q6_K: 'Q6_K'}


# ---------------------------------------------------------------- conversions

def f32_to_bf16(x):
    """Round to nearest even, as ggml; NaN stays a quiet NaN. uint32 arithmetic: only
    NaN bit patterns can wrap around, and those are replaced."""
    u = np.ascontiguousarray(x, dtype=np.float32).reshape(-1).view(np.uint32)
    r = (u + (np.uint32(0x7fff) + ((u >> 16) & np.uint32(1)))) >> 16
    nan = (u & np.uint32(0x7fffffff)) > np.uint32(0x7f800000)
    if nan.any():
        r = np.where(nan, (u >> 16) | np.uint32(64), r)
    return r.astype(np.uint16).reshape(np.shape(x))


def bf16_to_f32(h):
    return (np.asarray(h, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def _round_away(v):
    """C roundf: halves away from zero (numpy rounds halves to even)."""
    v = v.astype(np.float64)
    return np.sign(v) * np.floor(np.abs(v) + 0.5)


def quantize_q8_0(x):
    """ggml quantize_row_q8_0_ref: d = amax/127, q = roundf(x * (1/d)). The float32
    product is rounded half away from zero in float64, where adding 0.5 is exact."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 32)
    amax = np.abs(x).max(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide='ignore'):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = (x * idv[:, None]).astype(np.float64)
    v += np.copysign(0.5, v)
    out = np.empty((x.shape[0], 34), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = v.astype(np.int8).view(np.uint8)  # truncation toward zero completes roundf
    return out.tobytes()


def quantize_q4_0(x):
    """ggml quantize_row_q4_0_ref: max = signed value of largest magnitude (first one
    on ties), d = max / -8, q = min(15, (int8)(x/d + 8.5)); byte j holds element j in
    the low nibble and element j + 16 in the high nibble."""
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(-1, 32)
    idx = np.argmax(np.abs(x), axis=1)  # first index of the largest |x|, as the strict < in ggml
    mx = x[np.arange(x.shape[0]), idx]
    d = (mx / np.float32(-8)).astype(np.float32)
    with np.errstate(divide='ignore'):
        idv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
    v = ((x * idv[:, None]).astype(np.float32) + np.float32(8.5)).astype(np.float32)
    q = np.minimum(15, np.trunc(v).astype(np.int64)).astype(np.uint8)
    out = np.zeros((x.shape[0], 18), dtype=np.uint8)
    out[:, :2] = d.astype(np.float16).view(np.uint8).reshape(-1, 2)
    out[:, 2:] = q[:, :16] | (q[:, 16:] << 4)
    return out.tobytes()


def dequantize_q8_0(b, n):
    a = np.frombuffer(b, dtype=np.uint8).reshape(-1, 34)[: n // 32]
    d = a[:, :2].copy().view(np.float16).astype(np.float32)
    q = a[:, 2:].view(np.int8).astype(np.float32)
    return (q * d).reshape(-1)


def dequantize_q4_0(b, n):
    a = np.frombuffer(b, dtype=np.uint8).reshape(-1, 18)[: n // 32]
    d = a[:, :2].copy().view(np.float16).astype(np.float32)
    qs = a[:, 2:]
    lo = (qs & 15).astype(np.float32) - 8
    hi = (qs >> 4).astype(np.float32) - 8
    return (np.concatenate([lo, hi], axis=1) * d).reshape(-1)


def tensor_nbytes(ttype, ne):
    """Bytes of a tensor of ggml type ttype with dims ne (any order)."""
    be, bb = BLOCK[ttype]
    n = int(np.prod(ne, dtype=np.int64))
    if (ne[0] if len(ne) else 1) % be:
        raise ValueError('%s rows need a multiple of %d values' % (TYPE_NAMES[ttype], be))
    return n // be * bb


def _f16(a):
    return a.copy().view('<f2').astype(np.float32).reshape(-1)


def kquant_scales_mins(sc12):
    """The eight 6-bit (scale, min) pairs of a Q4_K/Q5_K super-block from its 12 bytes:
    bytes 0-3 hold scales 0-3 in bits 0-5, bytes 4-7 mins 0-3 in bits 0-5; scales and
    mins 4-7 take their low 4 bits from bytes 8-11 (scale: low nibble, min: high nibble)
    and their top 2 bits from bits 6-7 of bytes 0-3 (scales) and 4-7 (mins).
    sc12: uint8 [nb, 12] -> (scales, mins) uint8 [nb, 8]."""
    s = sc12.astype(np.uint8)
    lo, mid, hi = s[:, 0:4], s[:, 4:8], s[:, 8:12]
    scales = np.concatenate([lo & 63, (hi & 15) | ((lo >> 6) << 4)], axis=1)
    mins = np.concatenate([mid & 63, (hi >> 4) | ((mid >> 6) << 4)], axis=1)
    return scales, mins


def dequantize_q4_k(b, n):
    """Q4_K, 144 bytes per 256 weights: f16 d, f16 dmin, 12 bytes of scales/mins, 128 bytes
    of nibbles. Sub-block j (32 weights, j = 0..7) reads bytes 32*(j//2) .. +31, the low
    nibble for even j and the high nibble for odd j; weight = (d*scale_j)*q - (dmin*min_j),
    each product rounded to f32 first (as the C kernels)."""
    a = np.frombuffer(b, dtype=np.uint8).reshape(-1, 144)[: n // QK_K]
    d, dmin = _f16(a[:, 0:2]), _f16(a[:, 2:4])
    scales, mins = kquant_scales_mins(a[:, 4:16])
    qs = a[:, 16:144].reshape(-1, 4, 32)
    q = np.stack([qs & 15, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float32)
    d1 = (d[:, None] * scales.astype(np.float32)).astype(np.float32)
    m1 = (dmin[:, None] * mins.astype(np.float32)).astype(np.float32)
    return ((d1[:, :, None] * q).astype(np.float32) - m1[:, :, None]).astype(np.float32).reshape(-1)


def dequantize_q5_k(b, n):
    """Q5_K, 176 bytes per 256 weights: f16 d, f16 dmin, 12 bytes of scales/mins (as Q4_K),
    32 bytes qh, 128 bytes of nibbles laid out as Q4_K. Weight l (0..31) of sub-block j
    adds 16 when bit j of qh[l] is set."""
    a = np.frombuffer(b, dtype=np.uint8).reshape(-1, 176)[: n // QK_K]
    d, dmin = _f16(a[:, 0:2]), _f16(a[:, 2:4])
    scales, mins = kquant_scales_mins(a[:, 4:16])
    qh = a[:, 16:48]
    qs = a[:, 48:176].reshape(-1, 4, 32)
    q = np.stack([qs & 15, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.int32)
    bits = np.stack([(qh >> j) & 1 for j in range(8)], axis=1).astype(np.int32)  # [nb, 8, 32]
    q = (q + 16 * bits).astype(np.float32)
    d1 = (d[:, None] * scales.astype(np.float32)).astype(np.float32)
    m1 = (dmin[:, None] * mins.astype(np.float32)).astype(np.float32)
    return ((d1[:, :, None] * q).astype(np.float32) - m1[:, :, None]).astype(np.float32).reshape(-1)


def dequantize_q6_k(b, n):
    """Q6_K, 210 bytes per 256 weights: 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits),
    16 int8 scales (one per 16 weights), f16 d. In each half h (128 weights) and for
    l = 0..31, the four weights l, l+32, l+64, l+96 take the low nibble of ql[64h+l], the low
    nibble of ql[64h+32+l], the high nibble of ql[64h+l], the high nibble of ql[64h+32+l],
    and bits 0-1, 2-3, 4-5, 6-7 of qh[32h+l] as bits 4-5; weight = (d*scale)*(q - 32)."""
    a = np.frombuffer(b, dtype=np.uint8).reshape(-1, 210)[: n // QK_K]
    ql = a[:, 0:128].reshape(-1, 2, 2, 32).astype(np.int32)   # [nb, half, first/second 32, l]
    qh = a[:, 128:192].reshape(-1, 2, 32).astype(np.int32)
    sc = a[:, 192:208].view(np.int8).astype(np.float32)       # [nb, 16]
    d = _f16(a[:, 208:210])
    low = [ql[:, :, 0] & 15, ql[:, :, 1] & 15, ql[:, :, 0] >> 4, ql[:, :, 1] >> 4]
    q = np.stack([low[i] | (((qh >> (2 * i)) & 3) << 4) for i in range(4)], axis=2)  # [nb, half, 4, 32]
    q = (q - 32).reshape(-1, 16, 16).astype(np.float32)
    ds = (d[:, None] * sc).astype(np.float32)                 # [nb, 16]
    return (ds[:, :, None] * q).astype(np.float32).reshape(-1)


def encode_tensor(values, ttype):
    x = np.asarray(values)
    if ttype == GGML_F32:
        return np.ascontiguousarray(x, dtype='<f4').tobytes()
    if ttype == GGML_F16:
        return np.ascontiguousarray(x, dtype='<f2').tobytes()
    if ttype == GGML_BF16:
        return f32_to_bf16(x.astype(np.float32)).astype('<u2').tobytes()
    if ttype == GGML_Q8_0:
        return quantize_q8_0(x)
    if ttype == GGML_Q4_0:
        return quantize_q4_0(x)
    raise ValueError('unsupported tensor type %r' % ttype)


# ---------------------------------------------------------------- writer

def _pack_str(s):
    b = s.encode('utf-8') if isinstance(s, str) else bytes(s)
    return struct.pack('<Q', len(b)) + b


def _pack_scalar(vtype, v):
    if vtype == STRING:
        return _pack_str(v)
    if vtype == BOOL:
        return struct.pack('<B', 1 if v else 0)
    return struct.pack(_SCALAR_FMT[vtype], v)


def _infer(v):
    if isinstance(v, (str, bytes)):
        return STRING
    if isinstance(v, bool):
        return BOOL
    if isinstance(v, int):
        return I32 if v < 0 else U32
    if isinstance(v, float):
        return F32
    raise TypeError('cannot infer a GGUF type for %r' % (v,))


class Writer:
    def __init__(self, alignment=32, version=3):
        self.alignment = alignment
        self.version = version
        self.kv = []        # (key, bytes of type + value)
        self.tensors = []   # (name, ttype, ne, data: bytes, or (nbytes, chunks) when streamed)
        self._keys = set()
        if alignment != 32:
            self.add('general.alignment', alignment, U32)

    def _key(self, key):
        if key in self._keys:
            raise ValueError('duplicate key %s' % key)
        self._keys.add(key)

    def add(self, key, value, vtype=None, replace=False):
        """replace=True: a key already present takes the new value in its old place
        (gguf-py's rule for a repeated key); otherwise a repeated key is an error."""
        vtype = _infer(value) if vtype is None else vtype
        body = struct.pack('<I', vtype) + _pack_scalar(vtype, value)
        if key == 'general.alignment':
            self.alignment = int(value)
            replace = True
        if replace and key in self._keys:
            self.kv = [(k, body if k == key else b) for k, b in self.kv]
            return
        self._key(key)
        self.kv.append((key, body))

    def add_array(self, key, values, elem_type):
        self._key(key)
        body = struct.pack('<IQ', elem_type, len(values))
        if elem_type == STRING:
            body += b''.join(_pack_str(s) for s in values)
        elif elem_type == BOOL:
            body += bytes(1 if v else 0 for v in values)
        else:
            body += np.asarray(values, dtype=np.dtype(_SCALAR_FMT[elem_type])).tobytes()
        self.kv.append((key, struct.pack('<I', ARRAY) + body))

    def add_tensor(self, name, values, ttype=GGML_F32):
        x = np.asarray(values)
        ne = list(reversed(x.shape)) or [1]
        self.add_raw_tensor(name, ttype, ne, encode_tensor(x, ttype))

    def add_raw_tensor(self, name, ttype, ne, data):
        self.tensors.append((name, ttype, list(ne), bytes(data)))

    def add_tensor_stream(self, name, ttype, ne, nbytes, chunks):
        self.tensors.append((name, ttype, list(ne), (int(nbytes), chunks)))

    def _pad(self, n):
        return (-n) % self.alignment

    @staticmethod
    def _size(data):
        return data[0] if isinstance(data, tuple) else len(data)

    def _header(self):
        out = bytearray(b'GGUF' + struct.pack('<IQQ', self.version, len(self.tensors), len(self.kv)))
        for key, body in self.kv:
            out += _pack_str(key) + body
        offset = 0
        for name, ttype, ne, data in self.tensors:
            out += _pack_str(name) + struct.pack('<I', len(ne)) + struct.pack('<%dq' % len(ne), *ne)
            out += struct.pack('<IQ', ttype, offset)
            offset += self._size(data) + self._pad(self._size(data))
        out += b'\0' * self._pad(len(out))
        return bytes(out)

    def _data(self):
        """Yields the data section piece by piece (streamed tensors one chunk at a time)."""
        for name, _, _, data in self.tensors:
            if isinstance(data, tuple):
                n, chunks = data
                got = 0
                for c in chunks():
                    got += len(c)
                    yield c
                if got != n:
                    raise ValueError('tensor %s: %d bytes produced, %d announced' % (name, got, n))
                yield b'\0' * self._pad(n)
            else:
                yield data + b'\0' * self._pad(len(data))

    def to_bytes(self):
        return self._header() + b''.join(self._data())

    def write(self, path):
        with open(path, 'wb') as f:
            f.write(self._header())
            for piece in self._data():
                f.write(piece)


# ---------------------------------------------------------------- reader

class Gguf:
    def tensor(self, name):
        for t in self.tensors:
            if t['name'] == name:
                return t
        raise KeyError(name)


def read(src):
    if isinstance(src, (bytes, bytearray)):
        b = bytes(src)
    else:
        with open(src, 'rb') as f:
            b = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from(fmt, b, pos)
        pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take('<Q')
        s = b[pos:pos + n]
        pos += n
        return s.decode('utf-8', errors='surrogateescape')

    def value(t):
        if t == STRING:
            return string()
        if t == BOOL:
            return bool(take('<B'))
        return take(_SCALAR_FMT[t])

    magic = b[:4]
    pos = 4
    if magic != b'GGUF':
        raise ValueError('not a GGUF file')
    g = Gguf()
    g.version, n_tensors, n_kv = take('<IQQ')
    g.kv = {}
    for _ in range(n_kv):
        key = string()
        t = take('<I')
        if t == ARRAY:
            et, n = take('<IQ')
            g.kv[key] = (ARRAY, [value(et) for _ in range(n)], et)
        else:
            g.kv[key] = (t, value(t), None)
    g.alignment = g.kv.get('general.alignment', (U32, 32, None))[1]
    g.tensors = []
    for _ in range(n_tensors):
        name = string()
        nd = take('<I')
        ne = [take('<q') for _ in range(nd)]
        ttype, off = take('<IQ')
        g.tensors.append({'name': name, 'type': ttype, 'ne': ne, 'offset': off})
    data0 = pos + ((-pos) % g.alignment)
    for t in g.tensors:
        n = int(np.prod(t['ne']))
        be, bb = BLOCK[t['type']]
        size = n // be * bb
        t['data'] = b[data0 + t['offset']: data0 + t['offset'] + size]
    g.data_offset = data0
    return g


def dequantize(t):
    n = int(np.prod(t['ne']))
    ty, d = t['type'], t['data']
    if ty == GGML_F32:
        x = np.frombuffer(d, dtype='<f4').astype(np.float32)
    elif ty == GGML_F16:
        x = np.frombuffer(d, dtype='<f2').astype(np.float32)
    elif ty == GGML_BF16:
        x = bf16_to_f32(np.frombuffer(d, dtype='<u2'))
    elif ty == GGML_Q8_0:
        x = dequantize_q8_0(d, n)
    elif ty == GGML_Q4_0:
        x = dequantize_q4_0(d, n)
    elif ty == GGML_Q4_K:
        x = dequantize_q4_k(d, n)
    elif ty == GGML_Q5_K:
        x = dequantize_q5_k(d, n)
    elif ty == GGML_Q6_K:
        x = dequantize_q6_k(d, n)
    else:
        raise ValueError('unsupported tensor type %r' % ty)
    return x.reshape(list(reversed(t['ne'])))


# ---------------------------------------------------------------- models

def gpt2_byte_symbols():
    """GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to U+0100.."""
    keep = list(range(ord('!'), ord('~') + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    out, n = {}, 0
    for byte in range(256):
        if byte in keep:
            out[byte] = chr(byte)
        else:
            out[byte] = chr(256 + n)
            n += 1
    return [out[i] for i in range(256)]


def byte_tokenizer(n_vocab):
    """tokens, token types, merges for a synthetic byte-level BPE of n_vocab entries:
    256 byte symbols, filler merges of two symbols, <|endoftext|>, <|mdm_mask|>."""
    assert n_vocab >= 258
    sym = gpt2_byte_symbols()
    tokens, merges = list(sym), []
    letters = 'abcdefghijklmnopqrstuvwxyz'
    i = 0
    while len(tokens) < n_vocab - 2:
        a, b = letters[(i // 26) % 26], letters[i % 26]
        if i >= 676:
            a = sym[(i // 676) % 256] + a
        tokens.append(a + b)
        merges.append(a + ' ' + b)
        i += 1
    tokens += ['<|endoftext|>', '<|mdm_mask|>']
    types = [1] * (n_vocab - 2) + [3, 3]
    return tokens, types, merges


def llama_like(arch, n_vocab=2048, n_embd=64, n_layer=2, n_ff=172, n_head=4, n_head_kv=None, n_ctx=4096,
               rope_base=None, eps=None, rope_dim=None, shift_logits=None, qkv_bias=None, tied=False,
               ttype=GGML_F32, seed=0, name=None, tokenizer=None, std=0.02, norm_type=GGML_F32):
    """A Writer holding a random llada/dream model with the fixtures' keys and tensors."""
    assert arch in ('llada', 'dream')
    n_head_kv = n_head if n_head_kv is None else n_head_kv
    head_dim = n_embd // n_head
    rope_dim = head_dim if rope_dim is None else rope_dim
    rope_base = (500000.0 if arch == 'llada' else 1e6) if rope_base is None else rope_base
    eps = (1e-5 if arch == 'llada' else 1e-6) if eps is None else eps
    qkv_bias = (arch == 'dream') if qkv_bias is None else qkv_bias
    if shift_logits is None and arch == 'llada':
        shift_logits = False
    tokens, types, merges = tokenizer if tokenizer else byte_tokenizer(n_vocab)
    w = Writer()
    w.add('general.architecture', arch)
    w.add('general.name', name or 'random-%s-L%d-d%d' % (arch, n_layer, n_embd))
    w.add('general.file_type', 0, U32)
    a = arch + '.'
    w.add(a + 'context_length', n_ctx, U32)
    w.add(a + 'embedding_length', n_embd, U32)
    w.add(a + 'block_count', n_layer, U32)
    w.add(a + 'feed_forward_length', n_ff, U32)
    w.add(a + 'attention.head_count', n_head, U32)
    w.add(a + 'attention.head_count_kv', n_head_kv, U32)
    w.add(a + 'attention.layer_norm_rms_epsilon', eps, F32)
    w.add(a + 'rope.freq_base', rope_base, F32)
    w.add(a + 'rope.dimension_count', rope_dim, U32)
    w.add(a + 'vocab_size', n_vocab, U32)
    w.add(a + 'attention.causal', False, BOOL)
    if shift_logits is not None:
        w.add('diffusion.shift_logits', bool(shift_logits), BOOL)
    w.add('tokenizer.ggml.model', 'gpt2')
    w.add('tokenizer.ggml.pre', 'default')
    w.add_array('tokenizer.ggml.tokens', tokens, STRING)
    w.add_array('tokenizer.ggml.token_type', types, I32)
    w.add_array('tokenizer.ggml.merges', merges, STRING)
    w.add('tokenizer.ggml.bos_token_id', n_vocab - 2, U32)
    w.add('tokenizer.ggml.eos_token_id', n_vocab - 2, U32)
    w.add('tokenizer.ggml.mask_token_id', n_vocab - 1, U32)
    w.add('tokenizer.ggml.add_bos_token', True, BOOL)
    w.add('tokenizer.ggml.add_eos_token', False, BOOL)
    w.add('tokenizer.chat_template', "{% for message in messages %}{{ message['content'] }}{% endfor %}")

    rng = np.random.default_rng(seed)

    def rand(*shape):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    d_kv = n_head_kv * head_dim
    w.add_tensor('token_embd.weight', rand(n_vocab, n_embd), ttype)
    w.add_tensor('output_norm.weight', np.ones(n_embd, np.float32), norm_type)
    if not tied:
        w.add_tensor('output.weight', rand(n_vocab, n_embd), ttype)
    for i in range(n_layer):
        p = 'blk.%d.' % i
        w.add_tensor(p + 'attn_norm.weight', np.ones(n_embd, np.float32), norm_type)
        w.add_tensor(p + 'attn_q.weight', rand(n_embd, n_embd), ttype)
        w.add_tensor(p + 'attn_k.weight', rand(d_kv, n_embd), ttype)
        w.add_tensor(p + 'attn_v.weight', rand(d_kv, n_embd), ttype)
        if qkv_bias:
            w.add_tensor(p + 'attn_q.bias', rand(n_embd), GGML_F32)
            w.add_tensor(p + 'attn_k.bias', rand(d_kv), GGML_F32)
            w.add_tensor(p + 'attn_v.bias', rand(d_kv), GGML_F32)
        w.add_tensor(p + 'attn_output.weight', rand(n_embd, n_embd), ttype)
        w.add_tensor(p + 'ffn_norm.weight', np.ones(n_embd, np.float32), norm_type)
        w.add_tensor(p + 'ffn_gate.weight', rand(n_ff, n_embd), ttype)
        w.add_tensor(p + 'ffn_up.weight', rand(n_ff, n_embd), ttype)
        w.add_tensor(p + 'ffn_down.weight', rand(n_embd, n_ff), ttype)
    return w


def write_llada(path, **kw):
    llama_like('llada', **kw).write(path)


def write_dream(path, **kw):
    llama_like('dream', **kw).write(path)
