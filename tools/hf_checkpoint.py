"""hf_checkpoint.py -- a Hugging Face checkpoint on disk, read one slice at a time.

A checkpoint is a directory with config.json and its weights: one
model.safetensors, or shards named by model.safetensors.index.json (what 7-8B
models ship), or, as a fallback, a pickled PyTorch state dict (pytorch_model.bin,
which needs torch and is loaded whole). Only the JSON headers are read up front;
tensor data is read on demand, a block of rows at a time, into a buffer of its
own (plain reads, no mmap: pages of a map that were touched would count against
the process until it ends), so reading never holds more than one block.

API
---
Checkpoint(path)                 path: the directory, or one .safetensors file
  .config                        config.json as a dict ({} when absent)
  .dir                           the directory the files live in
  .names()                       tensor names in file order
  .has(name), .shape(name), .dtype(name)   ('F32', 'F16', 'BF16' are readable; other
                                           dtypes, e.g. I64 position_ids buffers, are listed)
  .rows(name, r0, r1) -> float32 ndarray of rows r0..r1 of the tensor seen as
                         [shape[0], prod(shape[1:])] (a 1-D tensor is one row)
  .tensor(name)       -> the whole tensor as float32 (small tensors only)
  .n_params()         -> values in all readable tensors
  .equal(a, b)        -> True when two tensors hold the same values (block by block)
"""
import json
import os
import struct

import numpy as np

_DTYPES = {'F32': ('<f4', 4), 'F16': ('<f2', 2), 'BF16': ('<u2', 2)}
_HEADER_MAX = 100 << 20  # safetensors headers are JSON of a few MB at most; refuse absurd lengths


def _bf16_to_f32(u16):
    return (u16.astype(np.uint32) << 16).view(np.float32)


class _Entry:
    __slots__ = ('file', 'offset', 'dtype', 'shape')

    def __init__(self, file, offset, dtype, shape):
        self.file, self.offset, self.dtype, self.shape = file, offset, dtype, tuple(shape)


def _read_header(path):
    """{name: _Entry} of one .safetensors file (data offsets made absolute)."""
    with open(path, 'rb') as f:
        head = f.read(8)
        if len(head) != 8:
            raise ValueError('%s: not a safetensors file (shorter than 8 bytes)' % path)
        n = struct.unpack('<Q', head)[0]
        if n > _HEADER_MAX:
            raise ValueError('%s: safetensors header of %d bytes is not plausible' % (path, n))
        header = json.loads(f.read(n))
        size = os.fstat(f.fileno()).st_size
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        dt = info['dtype']
        lo, hi = info['data_offsets']
        count = int(np.prod(info['shape'], dtype=np.int64))
        if dt in _DTYPES and hi - lo != count * _DTYPES[dt][1] or not 0 <= lo <= hi or base + hi > size:
            raise ValueError('%s: tensor %s: data offsets disagree with its shape or the file size' % (path, name))
        out[name] = _Entry(path, base + lo, dt, info['shape'])
    return out


class Checkpoint:
    def __init__(self, path):
        self._torch = None
        if os.path.isfile(path):
            self.dir = os.path.dirname(os.path.abspath(path))
            files = [path]
        else:
            self.dir = path
            index = os.path.join(path, 'model.safetensors.index.json')
            single = os.path.join(path, 'model.safetensors')
            if os.path.isfile(index):
                with open(index, encoding='utf-8') as f:
                    weight_map = json.load(f)['weight_map']
                files = [os.path.join(path, s) for s in sorted(set(weight_map.values()))]
                missing = [s for s in files if not os.path.isfile(s)]
                if missing:
                    raise FileNotFoundError('shard %s named by model.safetensors.index.json is missing' % missing[0])
            elif os.path.isfile(single):
                files = [single]
            else:
                files = sorted(os.path.join(path, s) for s in os.listdir(path) if s.endswith('.safetensors'))
                if not files:
                    pt = os.path.join(path, 'pytorch_model.bin')
                    if not os.path.isfile(pt):
                        raise FileNotFoundError('%s: no model.safetensors, model.safetensors.index.json, '
                                                '*.safetensors or pytorch_model.bin' % path)
                    files = [pt]
        self._entries = {}
        for p in files:
            if p.endswith('.bin') or p.endswith('.pt') or p.endswith('.pth'):
                self._load_torch(p)
            else:
                self._entries.update(_read_header(p))
        cfg = os.path.join(self.dir, 'config.json')
        self.config = {}
        if os.path.isfile(cfg):
            with open(cfg, encoding='utf-8') as f:
                self.config = json.load(f)

    def _load_torch(self, path):
        import torch  # pickled state dicts only; safetensors need numpy alone
        sd = torch.load(path, map_location='cpu')
        if isinstance(sd.get('state_dict'), dict):
            sd = sd['state_dict']
        self._torch = self._torch or {}
        for k, v in sd.items():
            if hasattr(v, 'float'):
                self._torch[k] = v.float().numpy()
                self._entries[k] = _Entry(None, 0, 'F32', v.shape)

    def names(self):
        return list(self._entries)

    def has(self, name):
        return name in self._entries

    def shape(self, name):
        return self._entries[name].shape

    def dtype(self, name):
        return self._entries[name].dtype

    def n_rows(self, name):
        s = self.shape(name)
        return s[0] if len(s) > 1 else 1

    def n_cols(self, name):
        s = self.shape(name)
        return int(np.prod(s[1:], dtype=np.int64)) if len(s) > 1 else (s[0] if s else 1)

    def rows(self, name, r0, r1):
        """float32 [r1 - r0, n_cols] (a copy the caller owns)."""
        e = self._entries[name]
        cols = self.n_cols(name)
        if e.dtype not in _DTYPES:
            raise ValueError('%s: tensor %s has dtype %s (F32, F16 and BF16 are read)' % (e.file, name, e.dtype))
        if not 0 <= r0 <= r1 <= self.n_rows(name):
            raise IndexError('%s: rows %d..%d of %d' % (name, r0, r1, self.n_rows(name)))
        if e.file is None:
            return np.array(self._torch[name].reshape(-1, cols)[r0:r1], np.float32)
        np_dtype, size = _DTYPES[e.dtype]
        buf = np.empty((r1 - r0) * cols, np_dtype)
        with open(e.file, 'rb') as f:
            f.seek(e.offset + r0 * cols * size)
            if f.readinto(memoryview(buf).cast('B')) != buf.nbytes:
                raise ValueError('%s: file ends inside tensor %s' % (e.file, name))
        if e.dtype == 'BF16':
            out = _bf16_to_f32(buf)
        elif e.dtype == 'F16':
            out = buf.astype(np.float32)
        else:
            out = buf
        return out.reshape(r1 - r0, cols)

    def n_params(self):
        """Values in the readable tensors (RoPE frequency buffers left out)."""
        return sum(int(np.prod(e.shape, dtype=np.int64)) for n, e in self._entries.items()
                   if e.dtype in _DTYPES and not n.endswith('inv_freq'))

    def tensor(self, name):
        return self.rows(name, 0, self.n_rows(name)).reshape(self.shape(name))

    def equal(self, a, b, block_rows=4096):
        if self.shape(a) != self.shape(b):
            return False
        n = self.n_rows(a)
        return all(np.array_equal(self.rows(a, r, min(n, r + block_rows)), self.rows(b, r, min(n, r + block_rows)))
                   for r in range(0, n, block_rows))
