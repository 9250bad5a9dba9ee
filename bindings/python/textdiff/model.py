"""model.py -- Model: a loaded GGUF model (tdiff_model) with its hyper-parameters,
metadata, tensors, and the shortcuts most users want (tokenize, forward, score,
generate) that build the other handles on demand.

Lifetime: handles built on a model (Denoiser, Sampler) hold a reference to it, so the
garbage collector never frees a model in use; an explicit close() first closes those
dependents, so no C handle can outlive the model it reads.
"""
import ctypes
import os
import threading
import weakref

import numpy as np

from . import _ffi
from ._handle import Handle
from ._host import HOST_P
from ._errors import TextdiffError, Status, check
from ._util import ERR_CAP, deprecated, enum_value, param_from_name, param_name, read_bytes
from .constants import MODEL_FLOAT_PARAMS, MetaType, ModelParam, Special

C = _ffi.C
_MEM_ALIGN = 64  # reason: a multiple of every tensor alignment GGUF files use (32 by default)

_UNSIGNED = (MetaType.U8, MetaType.U16, MetaType.U32, MetaType.U64)
_SIGNED = (MetaType.I8, MetaType.I16, MetaType.I32)


class Model(Handle):
    """A GGUF model. Model(path) loads a file (memory-mapped); Model.from_bytes(data)
    loads from memory. Use as a context manager or call close(); immutable once loaded."""

    def __init__(self, path=None, *, _data=None):
        self._h = None
        self._data = None
        self._dependents = weakref.WeakSet()
        self._tokenizer = None
        self._tokenizer_lock = threading.Lock()
        err = ctypes.create_string_buffer(ERR_CAP)
        out = ctypes.c_void_p()
        if _data is not None:
            # The library reads tensors in place until free, and needs them aligned in memory:
            # keep a private copy at a 64-byte boundary (every GGUF alignment divides it).
            src = np.frombuffer(memoryview(_data).cast('B'), dtype=np.uint8)
            raw = np.empty(src.size + _MEM_ALIGN, dtype=np.uint8)
            off = -raw.ctypes.data % _MEM_ALIGN
            self._data = raw[off:off + src.size]
            self._data[...] = src
            st = C.tdiff_model_load_memory(self._data.ctypes.data_as(ctypes.c_void_p), src.size, HOST_P,
                                           ctypes.byref(out), err, ERR_CAP)
            fn = 'tdiff_model_load_memory'
        else:
            if path is None:
                raise TypeError('Model(path) or Model.from_bytes(data)')
            st = C.tdiff_model_load_file(os.fsencode(path), HOST_P, ctypes.byref(out), err, ERR_CAP)
            fn = 'tdiff_model_load_file'
        check(st, fn, err.value.decode('utf-8', 'replace'))
        self._h = out.value

    @classmethod
    def from_file(cls, path):
        return cls(path)

    @classmethod
    def from_bytes(cls, data):
        """Loads from a bytes-like object (copied once, aligned, kept until close())."""
        return cls(_data=data)

    # ---------------------------------------------------------- lifetime

    _what = 'model'
    _free_fn = 'tdiff_model_free'

    def _adopt(self, dependent):
        self._dependents.add(dependent)

    def _before_free(self):
        # every Denoiser/Sampler built on the model goes first
        for d in list(self._dependents):
            d.close()
        if self._tokenizer is not None:
            self._tokenizer.close()
            self._tokenizer = None

    def _after_free(self):
        self._data = None

    def __repr__(self):
        if self._h is None:
            return '<textdiff.Model closed>'
        return '<textdiff.Model %s n_vocab=%d>' % (self.architecture or '?', self.n_vocab)

    # ---------------------------------------------------------- hyper-parameters

    @property
    def architecture(self):
        return C.tdiff_model_architecture(self.handle).decode('utf-8', 'replace')

    def get(self, param):
        """A hyper-parameter (ModelParam member, int or name such as 'n_embd'): int or float.
        TextdiffError NOT_FOUND when the architecture does not define it."""
        p = enum_value(ModelParam, param, 'model parameter')
        if p in MODEL_FLOAT_PARAMS:
            v = ctypes.c_double()
            check(C.tdiff_model_get_float(self.handle, p, ctypes.byref(v)), 'tdiff_model_get_float')
        else:
            v = ctypes.c_int64()
            check(C.tdiff_model_get_int(self.handle, p, ctypes.byref(v)), 'tdiff_model_get_int')
        return v.value

    @property
    def hparams(self):
        """Every hyper-parameter this model defines, by lower-case name."""
        out = {}
        for p in ModelParam:
            try:
                out[p.name.lower()] = self.get(p)
            except TextdiffError as e:
                if e.status != Status.NOT_FOUND:
                    raise
        return out

    @property
    def n_vocab(self):
        v = ctypes.c_size_t()
        check(C.tdiff_model_vocab_size(self.handle, ctypes.byref(v)), 'tdiff_model_vocab_size')
        return v.value

    @property
    def weight_count(self):
        """Number of weights (the element counts of all tensors)."""
        v = ctypes.c_uint64()
        check(C.tdiff_model_weight_count(self.handle, ctypes.byref(v)), 'tdiff_model_weight_count')
        return v.value

    @property
    def param_count(self):
        """Deprecated: weight_count (a count of weights, not of hyper-parameters)."""
        deprecated('Model.param_count', 'Model.weight_count')
        return self.weight_count

    @staticmethod
    def param_name(param):
        """The library's name of a hyper-parameter ("n_vocab"); read-only, so no bounds."""
        return param_name('tdiff_model_param_name', ModelParam, param, 'model parameter')

    @staticmethod
    def param_from_name(name):
        """The ModelParam the library names `name`."""
        return param_from_name('tdiff_model_param_from_name', ModelParam, name)

    def special_id(self, which):
        """Id of a special token (Special member or name: 'bos', 'eos', 'mask', ...), None if absent."""
        w = enum_value(Special, which, 'special token')
        v = ctypes.c_int32()
        st = C.tdiff_model_special_id(self.handle, w, ctypes.byref(v))
        if st == Status.NOT_FOUND:
            return None
        check(st, 'tdiff_model_special_id')
        return v.value

    def special_token(self, which):
        """Deprecated: special_id."""
        deprecated('Model.special_token', 'Model.special_id')
        return self.special_id(which)

    @property
    def mask_id(self):
        return self.special_id(Special.MASK)

    @property
    def eos_id(self):
        return self.special_id(Special.EOS)

    @property
    def bos_id(self):
        return self.special_id(Special.BOS)

    # ---------------------------------------------------------- metadata

    def meta_keys(self):
        """Metadata keys in file order."""
        keys = []
        for i in range(C.tdiff_model_meta_count(self.handle)):
            raw = read_bytes(lambda b, c, n, i=i: C.tdiff_model_meta_key(self.handle, i, b, c, n),
                             'tdiff_model_meta_key')
            keys.append(raw[:-1].decode('utf-8', 'replace'))
        return keys

    def meta_type(self, key):
        """(MetaType, element MetaType, count) of a key; TextdiffError NOT_FOUND when absent."""
        t, et, n = ctypes.c_int(), ctypes.c_int(), ctypes.c_size_t()
        check(C.tdiff_model_meta_type(self.handle, key.encode(), ctypes.byref(t), ctypes.byref(et),
                                      ctypes.byref(n)), 'tdiff_model_meta_type', key)
        return MetaType(t.value), MetaType(et.value), n.value

    def _scalar(self, key, vt):
        k = key.encode()
        if vt == MetaType.STRING:
            raw = read_bytes(lambda b, c, n: C.tdiff_model_meta_get_str(self.handle, k, b, c, n),
                             'tdiff_model_meta_get_str', key)
            return raw[:-1].decode('utf-8', 'replace')
        if vt == MetaType.BOOL:
            v, fn = ctypes.c_int(), 'tdiff_model_meta_get_bool'
            check(C.tdiff_model_meta_get_bool(self.handle, k, ctypes.byref(v)), fn, key)
            return bool(v.value)
        if vt in (MetaType.F32, MetaType.F64):
            v = ctypes.c_float()
            check(C.tdiff_model_meta_get_f32(self.handle, k, ctypes.byref(v)), 'tdiff_model_meta_get_f32', key)
            return v.value
        if vt in _UNSIGNED:
            v = ctypes.c_uint64()
            check(C.tdiff_model_meta_get_u64(self.handle, k, ctypes.byref(v)), 'tdiff_model_meta_get_u64', key)
            return v.value
        if vt in _SIGNED:
            v = ctypes.c_int32()
            check(C.tdiff_model_meta_get_i32(self.handle, k, ctypes.byref(v)), 'tdiff_model_meta_get_i32', key)
            return v.value
        # I64: the API reads it as i32 or u64 when the value fits one of them
        v32 = ctypes.c_int32()
        st = C.tdiff_model_meta_get_i32(self.handle, k, ctypes.byref(v32))
        if st == Status.OK:
            return v32.value
        v = ctypes.c_uint64()
        check(C.tdiff_model_meta_get_u64(self.handle, k, ctypes.byref(v)), 'tdiff_model_meta_get_u64', key)
        return v.value

    def _element(self, key, et, i):
        k = key.encode()
        if et == MetaType.STRING:
            raw = read_bytes(lambda b, c, n: C.tdiff_model_meta_get_arr_str(self.handle, k, i, b, c, n),
                             'tdiff_model_meta_get_arr_str', key, first_cap=64)
            return raw[:-1].decode('utf-8', 'replace')
        if et in (MetaType.F32, MetaType.F64):
            v = ctypes.c_float()
            check(C.tdiff_model_meta_get_arr_f32(self.handle, k, i, ctypes.byref(v)),
                  'tdiff_model_meta_get_arr_f32', key)
            return v.value
        v = ctypes.c_int32()
        check(C.tdiff_model_meta_get_arr_i32(self.handle, k, i, ctypes.byref(v)), 'tdiff_model_meta_get_arr_i32',
              key)
        return v.value

    def meta(self, key, default=KeyError):
        """The value under `key`: int, float, bool, str, or a list for arrays. A missing key
        raises TextdiffError (NOT_FOUND) unless a default is given."""
        try:
            vt, et, n = self.meta_type(key)
        except TextdiffError as e:
            if e.status == Status.NOT_FOUND and default is not KeyError:
                return default
            raise
        if vt == MetaType.ARRAY:
            return [self._element(key, et, i) for i in range(n)]
        return self._scalar(key, vt)

    @property
    def metadata(self):
        """Every metadata entry as a dict (file order)."""
        return {k: self.meta(k) for k in self.meta_keys()}

    def tensors(self):
        """[{'name', 'type' (ggml number), 'shape' (ne, innermost first)}] in file order."""
        out = []
        for i in range(C.tdiff_model_tensor_count(self.handle)):
            ttype, ndims, ne = ctypes.c_int(), ctypes.c_int(), (ctypes.c_int64 * 4)()

            def call(b, c, n, i=i):
                return C.tdiff_model_tensor_info(self.handle, i, b, c, n, ctypes.byref(ttype), ctypes.byref(ndims),
                                                 ne)

            name = read_bytes(call, 'tdiff_model_tensor_info', first_cap=64)[:-1].decode('utf-8', 'replace')
            out.append({'name': name, 'type': ttype.value, 'shape': tuple(ne[:ndims.value])})
        return out

    QUANT_TYPES = {'f16': 1, 'bf16': 2, 'q8_0': 3, 'q4_0': 4, 'q4_k': 5, 'q5_k': 6, 'q6_k': 7, 'q4_k_m': 8,
                   'q5_k_m': 9}

    def quantize(self, path, type='q4_k_m', n_threads=2, progress=None):
        """Writes a copy of the model to `path` with its weights re-encoded (tdiff_model_quantize):
        type is one of QUANT_TYPES. progress(dict) is called after each tensor with its index,
        count, name, type_in, type_out, bytes_in, bytes_out; returning True stops (ABORTED)."""
        if type not in self.QUANT_TYPES:
            raise ValueError('type must be one of %s' % ', '.join(self.QUANT_TYPES))
        errors = []

        def call(ud, t):
            try:
                c = t.contents
                info = {f: getattr(c, f) for f, _ in _ffi.QuantizeTensor._fields_}
                info['name'] = info['name'].decode('utf-8', 'replace')
                return 1 if progress(info) else 0
            except BaseException as e:  # noqa: BLE001 -- re-raised below, never lost in C
                errors.append(e)
                return 1
        cb = _ffi.QUANTIZE_FN(call) if progress else _ffi.QUANTIZE_FN()
        err = ctypes.create_string_buffer(ERR_CAP)
        st = C.tdiff_model_quantize(self.handle, os.fsencode(path), self.QUANT_TYPES[type], n_threads, cb, None, err,
                                    ERR_CAP)
        if errors:
            raise errors[0]
        check(st, 'tdiff_model_quantize', err.value.decode('utf-8', 'replace'))

    # ---------------------------------------------------------- shortcuts

    @property
    def tokenizer(self):
        """The model's Tokenizer (created once)."""
        with self._tokenizer_lock:  # threads may share a model: create it once
            if self._tokenizer is None:
                from .tokenizer import Tokenizer
                self._tokenizer = Tokenizer(self)
            return self._tokenizer

    def tokenize(self, text, add_special=True, parse_special=False):
        return self.tokenizer.tokenize(text, add_special=add_special, parse_special=parse_special)

    def detokenize(self, ids, render_special=False):
        return self.tokenizer.detokenize(ids, render_special=render_special)

    def denoiser(self, max_len, n_threads=1):
        from .denoiser import Denoiser
        return Denoiser(self, max_len, n_threads)

    def forward(self, tokens, positions=None, t=None, n_threads=1):
        """Logits numpy.ndarray [rows, n_vocab] float32 for `tokens` (rows: `positions`, or all)."""
        from .denoiser import Denoiser
        with Denoiser(self, len(tokens), n_threads) as d:
            return d.forward(tokens, positions=positions, t=t)

    def score(self, tokens, **kw):
        """NELBO of a token sequence (or a str, tokenized without special tokens) under this
        model: see textdiff.objective.score for the options. Returns a Score."""
        from .objective import score
        return score(self, tokens, **kw)

    def sampler(self, **params):
        from .sampler import Sampler
        return Sampler(self, **params)

    def generate(self, prompt, callback=None, chat=False, system=None, **params):
        """The text generated after `prompt`, in one call: a fresh Sampler set up by
        **params (the sampler parameters by name, as Sampler.set takes them: steps,
        gen_length, block_length, temperature, strategy, remasking, seed, ...; defaults
        as `textdiff generate`), the prompt tokenized with BOS as the model says (a str)
        or taken as ids (a list), the new ids detokenized (special tokens skipped).
        chat=True: the prompt is the user's message, put through the model's chat
        template (with a `system` message when given), as `textdiff generate --chat`.
        callback(step, n_steps, canvas, confidence) -> stop? as for Sampler.generate.
        Example: m.generate("It is a truth", steps=32, gen_length=32, seed=1)."""
        from .sampler import Sampler
        with Sampler(self, **params) as s:
            if chat:
                ids = self.tokenizer.chat_ids(([('system', system)] if system else []) + [('user', prompt)])
            else:
                ids = self.tokenize(prompt) if isinstance(prompt, (str, bytes)) else prompt
            return self.detokenize(s.generate(ids, callback=callback))
