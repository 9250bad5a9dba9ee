"""softmask.py -- SoftMask (tdiff_softmask): soft-masked diffusion (Hersche et al. 2025).
A still-masked position is fed (1 - lambda) E[mask] + lambda * sum_j pi_j E[v_j] over the
top-k tokens of its previous-step logits; build() gives those mixtures in the form
Denoiser.forward_mix takes.
"""
import ctypes

import numpy as np

from . import _ffi
from ._handle import Handle
from ._errors import Status, check
from ._host import HOST_P
from ._util import ERR_CAP, enum_value, f32_array, ids_array, param_bounds, param_from_name, param_name, ptr
from .constants import SOFTMASK_INT_PARAMS, SoftMaskParam

C = _ffi.C


class SoftMask(Handle):
    """SoftMask(n_vocab, model=None): parameters from the model's tdiff.softmask.* keys when
    given, else the paper's defaults (s = 0.25, c = -1, a = 5, k = 3). One thread at a time."""

    _what = 'soft-mask handle'
    _free_fn = 'tdiff_softmask_free'
    _error_fn = 'tdiff_softmask_last_error'

    def __init__(self, n_vocab, model=None):
        self._h = None
        out = ctypes.c_void_p()
        err = ctypes.create_string_buffer(ERR_CAP)
        st = C.tdiff_softmask_create(model.handle if model is not None else None, int(n_vocab), HOST_P,
                                     ctypes.byref(out), err, len(err))
        check(st, 'tdiff_softmask_create', err.value.decode('utf-8', 'replace'))
        self._h = out.value
        self.n_vocab = int(n_vocab)

    def get(self, param):
        p = enum_value(SoftMaskParam, param, 'soft-mask parameter')
        if p in SOFTMASK_INT_PARAMS:
            v = ctypes.c_int64()
            check(C.tdiff_softmask_get_int(self.handle, p, ctypes.byref(v)), 'tdiff_softmask_get_int',
                  self.last_error)
        else:
            v = ctypes.c_double()
            check(C.tdiff_softmask_get_float(self.handle, p, ctypes.byref(v)), 'tdiff_softmask_get_float',
                  self.last_error)
        return v.value

    def set(self, param, value):
        p = enum_value(SoftMaskParam, param, 'soft-mask parameter')
        if p in SOFTMASK_INT_PARAMS:
            check(C.tdiff_softmask_set_int(self.handle, p, int(value)), 'tdiff_softmask_set_int', self.last_error)
        else:
            check(C.tdiff_softmask_set_float(self.handle, p, float(value)), 'tdiff_softmask_set_float',
                  self.last_error)
        return self

    @staticmethod
    def bounds(param):
        """(min, max, default) of a settable parameter (top_k, raw_s, raw_c, raw_a)."""
        return param_bounds('tdiff_softmask_param_bounds', SoftMaskParam, param, 'soft-mask parameter')

    @staticmethod
    def param_name(param):
        """The library's name of a parameter ("top_k")."""
        return param_name('tdiff_softmask_param_name', SoftMaskParam, param, 'soft-mask parameter')

    @staticmethod
    def param_from_name(name):
        """The SoftMaskParam the library names `name`."""
        return param_from_name('tdiff_softmask_param_from_name', SoftMaskParam, name)

    def mix_position(self, logits, mask_id):
        """(mixture [(id, weight), ...], lambda) of one masked position from its previous
        logits [n_vocab]: the mask first with 1 - lambda, then the top-k tokens."""
        lg = f32_array(logits)
        if lg.shape != (self.n_vocab,):
            raise ValueError('logits must have n_vocab = %d entries' % self.n_vocab)
        cap = 1 + min(self.get(SoftMaskParam.TOP_K), self.n_vocab)
        ids = np.empty(cap, dtype=np.int32)
        w = np.empty(cap, dtype=np.float32)
        n, lam = ctypes.c_size_t(), ctypes.c_float()
        check(C.tdiff_softmask_mix_position(self.handle, ptr(lg, ctypes.c_float), int(mask_id),
                                            ptr(ids, ctypes.c_int32), ptr(w, ctypes.c_float), cap, ctypes.byref(n),
                                            ctypes.byref(lam)), 'tdiff_softmask_mix_position', self.last_error)
        return list(zip(ids[:n.value].tolist(), w[:n.value].tolist())), lam.value

    def build(self, tokens, mask_id, prev_logits=None, prev_positions=None):
        """Mixtures for a whole sequence: (mixtures, lambdas) where mixtures[i] is [] for an
        unmasked position (forward_mix then looks up tokens[i]), (mask, 1) for a masked one
        without previous logits, else mix_position's list. prev_logits: None (first step)
        or [rows, n_vocab], row r for position prev_positions[r] (or r when None)."""
        ids = ids_array(tokens)
        n = ids.size
        lg = pos = None
        n_prev = 0
        if prev_logits is not None:
            lg = f32_array(prev_logits)
            if lg.ndim != 2 or lg.shape[1] != self.n_vocab:
                raise ValueError('prev_logits must be [rows, n_vocab]')
            n_prev = lg.shape[0]
            if prev_positions is not None:
                pos = np.ascontiguousarray(np.asarray(prev_positions, dtype=np.uint32))
                if pos.shape != (n_prev,):
                    raise ValueError('prev_positions must name one position per row')
        offsets = np.zeros(n + 1, dtype=np.uintp)
        lam = np.zeros(n, dtype=np.float32)
        cap = max(n * (1 + self.get(SoftMaskParam.TOP_K)), 1)  # always enough, says the header
        total = ctypes.c_size_t()
        for _ in range(2):  # the retry only guards that promise
            out_ids = np.empty(cap, dtype=np.int32)
            out_w = np.empty(cap, dtype=np.float32)
            st = C.tdiff_softmask_build(self.handle, ptr(ids, ctypes.c_int32), n, int(mask_id),
                                        ptr(lg, ctypes.c_float), ptr(pos, ctypes.c_uint32), n_prev,
                                        ptr(offsets, ctypes.c_size_t), ptr(out_ids, ctypes.c_int32),
                                        ptr(out_w, ctypes.c_float), cap, ctypes.byref(total),
                                        ptr(lam, ctypes.c_float))
            if st != Status.BUFFER_TOO_SMALL:
                break
            cap = total.value
        check(st, 'tdiff_softmask_build', self.last_error)
        o = offsets.tolist()
        mixtures = [list(zip(out_ids[o[i]:o[i + 1]].tolist(), out_w[o[i]:o[i + 1]].tolist())) for i in range(n)]
        return mixtures, lam
