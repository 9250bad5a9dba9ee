"""denoiser.py -- Denoiser (tdiff_denoiser): runs the model's network, token ids in,
logits out as numpy.ndarray [rows, n_vocab] float32 (row r predicts the token at
position positions[r]; shifted-logit models are already unshifted by the library).
"""
import ctypes

import numpy as np

from . import _ffi
from ._handle import Handle
from ._host import HOST_P
from ._errors import check
from ._util import ERR_CAP, enum_value, ids_array, param_bounds, param_from_name, param_name, ptr
from .constants import Attention, DenoiserParam

C = _ffi.C


class Denoiser(Handle):
    """Denoiser(model, max_len, n_threads=1): a workspace for sequences of 1..max_len tokens.
    Belongs to one thread at a time; the model must stay open (it does: this object holds it)."""

    _what = 'denoiser'
    _free_fn = 'tdiff_denoiser_free'
    _error_fn = 'tdiff_denoiser_last_error'

    def __init__(self, model, max_len, n_threads=1):
        self._h = None
        self._model = model
        out = ctypes.c_void_p()
        err = ctypes.create_string_buffer(ERR_CAP)
        st = C.tdiff_denoiser_create(model.handle, int(max_len), int(n_threads), HOST_P, ctypes.byref(out), err, len(err))
        check(st, 'tdiff_denoiser_create', err.value.decode('utf-8', 'replace'))
        self._h = out.value
        model._adopt(self)

    def get(self, param):
        p = enum_value(DenoiserParam, param, 'denoiser parameter')
        v = ctypes.c_int64()
        check(C.tdiff_denoiser_get_int(self.handle, p, ctypes.byref(v)), 'tdiff_denoiser_get_int', self.last_error)
        return v.value

    def set(self, param, value):
        p = enum_value(DenoiserParam, param, 'denoiser parameter')
        if p == DenoiserParam.ATTENTION:
            value = enum_value(Attention, value, 'attention')
        check(C.tdiff_denoiser_set_int(self.handle, p, int(value)), 'tdiff_denoiser_set_int', self.last_error)

    @staticmethod
    def bounds(param):
        """(min, max, default) of a settable parameter (attention, block_length)."""
        return param_bounds('tdiff_denoiser_param_bounds', DenoiserParam, param, 'denoiser parameter')

    @staticmethod
    def param_name(param):
        """The library's name of a parameter ("block_length")."""
        return param_name('tdiff_denoiser_param_name', DenoiserParam, param, 'denoiser parameter')

    @staticmethod
    def param_from_name(name):
        """The DenoiserParam the library names `name`."""
        return param_from_name('tdiff_denoiser_param_from_name', DenoiserParam, name)

    @property
    def n_vocab(self):
        return self.get(DenoiserParam.N_VOCAB)

    @property
    def max_len(self):
        return self.get(DenoiserParam.MAX_LEN)

    @property
    def time_conditioned(self):
        return bool(self.get(DenoiserParam.TIME_CONDITIONED))

    def _positions(self, positions, n):
        """(uint32 array or None, rows)."""
        if positions is None:
            return None, n
        pos = np.ascontiguousarray(np.asarray(positions, dtype=np.int64))
        if pos.ndim != 1 or (pos.size and (pos.min() < 0 or pos.max() >= 2**32)):
            raise ValueError('positions must be a 1-D sequence of non-negative ints')
        return pos.astype(np.uint32), pos.size

    def forward_embd(self, embd, tokens=None, embd_rows=None, t=0.0, positions=None):
        """Logits [rows, n_vocab] from input vectors embd [n, n_embd] in place of token
        embeddings (soft masking, embedding diffusion). embd_rows (bool [n], optional): use
        embd row i where true, token tokens[i] where false."""
        e = np.ascontiguousarray(np.asarray(embd, dtype=np.float32))
        if e.ndim != 2:
            raise ValueError('embd must be [n, n_embd]')
        n = e.shape[0]
        ids = None if tokens is None else ids_array(tokens)
        if ids is not None and ids.size != n:
            raise ValueError('tokens and embd must have the same length')
        rows_mask = None
        if embd_rows is not None:
            rows_mask = np.ascontiguousarray(np.asarray(embd_rows, dtype=bool).astype(np.uint8))
            if rows_mask.shape != (n,):
                raise ValueError('embd_rows must have one flag per position')
        pos, rows = self._positions(positions, n)
        out = np.empty((rows, self.n_vocab), dtype=np.float32)
        st = C.tdiff_denoiser_forward_embd(self.handle, ptr(ids, ctypes.c_int32), ptr(e, ctypes.c_float),
                                           ptr(rows_mask, ctypes.c_uint8), n, float(t), ptr(pos, ctypes.c_uint32),
                                           rows, ptr(out, ctypes.c_float), out.size)
        check(st, 'tdiff_denoiser_forward_embd', self.last_error)
        return out

    def forward_mix(self, mixtures, tokens=None, t=0.0, positions=None):
        """Logits [rows, n_vocab] where the input of position i is the mixture
        sum(w * E[id] for id, w in mixtures[i]) of embedding rows; an empty mixture means
        tokens[i]. No [n, n_vocab] matrix is formed."""
        n = len(mixtures)
        offsets = np.zeros(n + 1, dtype=np.uintp)
        flat_ids, flat_w = [], []
        for i, mix in enumerate(mixtures):
            for token_id, w in mix:
                flat_ids.append(token_id)
                flat_w.append(w)
            offsets[i + 1] = len(flat_ids)
        mid = ids_array(flat_ids, 'mixture ids')
        mw = np.ascontiguousarray(np.asarray(flat_w, dtype=np.float32))
        ids = None if tokens is None else ids_array(tokens)
        if ids is not None and ids.size != n:
            raise ValueError('tokens and mixtures must have the same length')
        pos, rows = self._positions(positions, n)
        out = np.empty((rows, self.n_vocab), dtype=np.float32)
        st = C.tdiff_denoiser_forward_mix(self.handle, ptr(ids, ctypes.c_int32), n, ptr(offsets, ctypes.c_size_t),
                                          ptr(mid, ctypes.c_int32), ptr(mw, ctypes.c_float), float(t),
                                          ptr(pos, ctypes.c_uint32), rows, ptr(out, ctypes.c_float), out.size)
        check(st, 'tdiff_denoiser_forward_mix', self.last_error)
        return out

    def reserve_batch(self, max_rows):
        """Experimental: lets one forward_batch carry max_rows tokens in all (max_len until then)."""
        check(C.tdiff_denoiser_reserve_batch(self.handle, int(max_rows)), 'tdiff_denoiser_reserve_batch',
              self.last_error)

    def forward_batch(self, sequences, positions=None):
        """Experimental: several token sequences (of any lengths) in one packed forward.
        positions: None, or one entry per sequence (None = all its positions). Returns a list of
        logits arrays [rows_b, n_vocab], each bit-identical to forward() on that sequence alone."""
        ids = [ids_array(t) for t in sequences]
        if positions is None:
            positions = [None] * len(ids)
        if len(positions) != len(ids):
            raise ValueError('positions needs one entry per sequence')
        pos = [self._positions(p, a.size) for p, a in zip(positions, ids)]
        n = len(ids)
        tok_p = (_ffi.i32_p * n)(*[ptr(a, ctypes.c_int32) for a in ids])
        lens = (ctypes.c_size_t * n)(*[a.size for a in ids])
        pos_p = (_ffi.u32_p * n)(*[ptr(p, ctypes.c_uint32) if p is not None else None for p, _ in pos])
        counts = (ctypes.c_size_t * n)(*[r if p is not None else 0 for p, r in pos])
        total = sum(r for _, r in pos)
        out = np.empty((total, self.n_vocab), dtype=np.float32)
        st = C.tdiff_denoiser_forward_batch(self.handle, n, tok_p, lens, pos_p, counts, ptr(out, ctypes.c_float),
                                            out.size)
        check(st, 'tdiff_denoiser_forward_batch', self.last_error)
        rows = np.cumsum([0] + [r for _, r in pos])
        return [out[rows[b]:rows[b + 1]] for b in range(n)]

    def forward(self, tokens, positions=None, t=None):
        """Logits [rows, n_vocab] float32: one row per entry of `positions` (default: every
        position in order). t: the time-conditioning value (required by DiT models; when
        None tdiff_denoiser_forward is used, which such models refuse with a message)."""
        ids = ids_array(tokens)
        pos, rows = self._positions(positions, ids.size)
        nv = self.n_vocab
        out = np.empty((rows, nv), dtype=np.float32)
        pos_p = ptr(pos, ctypes.c_uint32)
        if t is None:
            st = C.tdiff_denoiser_forward(self.handle, ptr(ids, ctypes.c_int32), ids.size, pos_p, rows,
                                          ptr(out, ctypes.c_float), out.size)
            fn = 'tdiff_denoiser_forward'
        else:
            st = C.tdiff_denoiser_forward_t(self.handle, ptr(ids, ctypes.c_int32), ids.size, float(t), pos_p, rows,
                                            ptr(out, ctypes.c_float), out.size)
            fn = 'tdiff_denoiser_forward_t'
        check(st, fn, self.last_error)
        return out
