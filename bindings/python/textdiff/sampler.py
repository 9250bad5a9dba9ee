"""sampler.py -- Sampler (tdiff_sampler): turns a denoiser into text. Parameters go
through the library's enum setters by name; generate/infill return token ids; a Python
step callback can watch (or stop) every refinement step.

Callbacks and the C side: the ctypes function objects handed to the library are kept
on the Sampler for as long as the library may call them (until replaced, removed or the
sampler is closed), so the garbage collector cannot free them mid-generation. A Python
exception raised inside a callback never crosses into C: the trampoline stores it,
returns "stop" to the library (which then returns TDIFF_E_ABORTED and stays usable),
and the exception is re-raised from generate()/infill().
"""
import ctypes
import re

import numpy as np

from . import _ffi
from ._handle import Handle
from ._host import HOST_P
from ._errors import Status, TextdiffError, check
from ._util import ERR_CAP, enum_value, ids_array, ptr
from .constants import (SAMPLER_FLOAT_PARAMS, SAMPLER_STATS, CacheMode, Compat, GenState, Remasking, SamplerParam,
                        Strategy)

C = _ffi.C


def strategy_name(value):
    return C.tdiff_strategy_name(int(value)).decode()


def remasking_name(value):
    return C.tdiff_remasking_name(int(value)).decode()


def _parse_named(fn, cfn, name, what):
    v = ctypes.c_int()
    st = cfn(name.encode(), ctypes.byref(v))
    check(st, fn, 'unknown %s %r' % (what, name))
    return v.value


def param_bounds(param):
    """(min, max, default) of a sampler parameter (no handle needed)."""
    p = enum_value(SamplerParam, param, 'sampler parameter')
    lo, hi, d = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    check(C.tdiff_sampler_param_bounds(p, ctypes.byref(lo), ctypes.byref(hi), ctypes.byref(d)),
          'tdiff_sampler_param_bounds')
    return lo.value, hi.value, d.value


_HOLE = re.compile(r'\[MASK:([0-9]+)\]')


def split_holes(text):
    """[(text before the hole, hole length), ..., (text after the last hole, 0)] of an
    infill text. Raises ValueError naming the hole for "[MASK:" not followed by a
    positive decimal number and "]" (e.g. [MASK:x], [MASK:0], [MASK:-1], [MASK:3)."""
    out, pos = [], 0
    while True:
        at = text.find('[MASK:', pos)
        if at < 0:
            out.append((text[pos:], 0))
            return out
        m = _HOLE.match(text, at)
        if not m or int(m.group(1)) < 1:
            raise ValueError("infill: bad hole '%s' at character %d (write [MASK:n], n >= 1)" %
                             (text[at:at + 12], at))
        out.append((text[pos:at], int(m.group(1))))
        pos = m.end()


class Sampler(Handle):
    """Sampler(model, **params) over the library's own network, or
    Sampler.from_callback(logits_fn, n_vocab, mask_id) over a Python one.

    params: any SamplerParam name in lower case, e.g. steps=16, gen_length=32,
    block_length=8, strategy='llada' (name or Strategy), remasking='low_confidence',
    temperature=0.0, seed=1, compat='llamacpp', cache='dual' (name or CacheMode)."""

    def __init__(self, model, **params):
        self._init_state()
        out = ctypes.c_void_p()
        err = ctypes.create_string_buffer(ERR_CAP)
        st = C.tdiff_sampler_create(model.handle, HOST_P, ctypes.byref(out), err, len(err))
        check(st, 'tdiff_sampler_create', err.value.decode('utf-8', 'replace'))
        self._h = out.value
        self._model = model
        model._adopt(self)
        self.set(**params)

    def _init_state(self):
        self._h = None
        self._model = None
        self._step_cfunc = None     # the STEP_FN object the library holds
        self._step_user = None
        self._net_cfunc = None      # the LOGITS_FN object of from_callback samplers
        self._net_struct = None
        self._borrowed = {}         # scheduler / transition handles the library borrows
        self._cb_error = None

    @classmethod
    def from_callback(cls, logits_fn, n_vocab, mask_id, eos_id=-1, **params):
        """A sampler over a Python network. logits_fn(tokens, t, positions) gets the canvas
        (int32 [n]), t (float) and the positions wanted (uint32 [k]); it returns logits
        [k, n_vocab] (anything numpy converts to float32) predicting those positions."""
        self = cls.__new__(cls)
        self._init_state()

        def tramp(ud, tokens, n, t, positions, n_positions, logits):
            try:
                toks = np.ctypeslib.as_array(tokens, shape=(n,)).copy()
                pos = np.ctypeslib.as_array(positions, shape=(n_positions,)).copy()
                res = np.asarray(logits_fn(toks, float(t), pos), dtype=np.float32)
                if res.shape != (n_positions, n_vocab):
                    raise ValueError('logits_fn returned shape %s, expected %s' % (res.shape, (n_positions, n_vocab)))
                dst = np.ctypeslib.as_array(logits, shape=(n_positions, n_vocab))
                dst[...] = res
                return 0
            except BaseException as e:  # never let it unwind through C
                self._cb_error = e
                return int(Status.ABORTED)

        self._net_cfunc = _ffi.LOGITS_FN(tramp)
        cb = _ffi.DenoiseCallbacks()
        cb.struct_size = ctypes.sizeof(_ffi.DenoiseCallbacks)
        cb.user_data = None
        cb.logits = self._net_cfunc
        cb.destroy = _ffi.DESTROY_FN()  # NULL: nothing to release
        self._net_struct = cb
        out = ctypes.c_void_p()
        err = ctypes.create_string_buffer(ERR_CAP)
        st = C.tdiff_sampler_create_with_callback(ctypes.byref(cb), int(n_vocab), int(mask_id), int(eos_id),
                                                  HOST_P, ctypes.byref(out), err, len(err))
        check(st, 'tdiff_sampler_create_with_callback', err.value.decode('utf-8', 'replace'))
        self._h = out.value
        self.set(**params)
        return self

    # ---------------------------------------------------------- lifetime

    _what = 'sampler'
    _free_fn = 'tdiff_sampler_free'
    _error_fn = 'tdiff_sampler_last_error'

    def _after_free(self):
        # only now may the callback objects and borrowed handles go
        self._step_cfunc = self._step_user = None
        self._net_cfunc = self._net_struct = None
        self._borrowed = {}

    # ---------------------------------------------------------- parameters

    def set(self, *args, **params):
        """set(param, value) or set(name=value, ...). Strategy/remasking/compat accept names."""
        if args:
            if len(args) != 2:
                raise TypeError('set(param, value) or set(name=value, ...)')
            params = {args[0]: args[1]}
        for name, value in params.items():
            p = enum_value(SamplerParam, name, 'sampler parameter')
            if isinstance(value, str):
                if p == SamplerParam.STRATEGY:
                    value = _parse_named('tdiff_strategy_from_name', C.tdiff_strategy_from_name, value, 'strategy')
                elif p == SamplerParam.REMASKING:
                    value = _parse_named('tdiff_remasking_from_name', C.tdiff_remasking_from_name, value,
                                         'remasking')
                elif p == SamplerParam.COMPAT:
                    value = enum_value(Compat, value, 'compat mode')
                elif p == SamplerParam.CACHE:
                    value = enum_value(CacheMode, value, 'cache mode')
            if p in SAMPLER_FLOAT_PARAMS:
                st = C.tdiff_sampler_set_float(self.handle, p, float(value))
                check(st, 'tdiff_sampler_set_float', self.last_error)
            else:
                st = C.tdiff_sampler_set_int(self.handle, p, int(value))
                check(st, 'tdiff_sampler_set_int', self.last_error)
        return self

    def get(self, param):
        p = enum_value(SamplerParam, param, 'sampler parameter')
        if p in SAMPLER_FLOAT_PARAMS:
            v = ctypes.c_double()
            check(C.tdiff_sampler_get_float(self.handle, p, ctypes.byref(v)), 'tdiff_sampler_get_float',
                  self.last_error)
        else:
            v = ctypes.c_int64()
            check(C.tdiff_sampler_get_int(self.handle, p, ctypes.byref(v)), 'tdiff_sampler_get_int',
                  self.last_error)
        value = v.value
        if p == SamplerParam.STRATEGY:
            return Strategy(value)
        if p == SamplerParam.REMASKING:
            return Remasking(value)
        if p == SamplerParam.CACHE:
            return CacheMode(value)
        return value

    bounds = staticmethod(param_bounds)

    @property
    def stats(self):
        """Statistics of the last run: forward_passes, steps, forward_seconds, total_seconds, reused,
        rows_computed, cache_hits."""
        return {p.name[5:].lower(): self.get(p) for p in SAMPLER_STATS}

    def set_banned(self, ids):
        a = ids_array(ids, 'ids')
        check(C.tdiff_sampler_set_banned(self.handle, ptr(a, ctypes.c_int32), a.size), 'tdiff_sampler_set_banned',
              self.last_error)

    def set_scheduler(self, scheduler):
        """Borrowed by the library (SEDD strategies); kept alive here while attached."""
        check(C.tdiff_sampler_set_scheduler(self.handle, scheduler.handle if scheduler else None),
              'tdiff_sampler_set_scheduler', self.last_error)
        self._borrowed['scheduler'] = scheduler

    def set_transition(self, transition):
        """Borrowed by the library (D3PM/SEDD strategies); kept alive here while attached."""
        check(C.tdiff_sampler_set_transition(self.handle, transition.handle if transition else None),
              'tdiff_sampler_set_transition', self.last_error)
        self._borrowed['transition'] = transition

    def set_softmask(self, softmask):
        """Soft-masked inputs from a SoftMask (None detaches). Borrowed by the library:
        kept alive here while attached."""
        check(C.tdiff_sampler_set_softmask(self.handle, softmask.handle if softmask else None),
              'tdiff_sampler_set_softmask', self.last_error)
        self._borrowed['softmask'] = softmask

    # ---------------------------------------------------------- step callback

    def set_callback(self, fn):
        """fn(step, n_steps, canvas, confidence) after every step (canvas int32 [n] and
        confidence float32 [n], NaN where nothing was predicted, both copies). Return a true
        value to stop the run (generate/infill then raise TextdiffError ABORTED).
        fn None removes it."""
        if fn is None:
            # STEP_FN() is a NULL function pointer (ctypes refuses None for a CFUNCTYPE argument)
            check(C.tdiff_sampler_set_callback(self.handle, _ffi.STEP_FN(), None), 'tdiff_sampler_set_callback',
                  self.last_error)
            self._step_cfunc = self._step_user = None
            return

        def tramp(ud, step, n_steps, canvas, n, conf):
            try:
                c = np.ctypeslib.as_array(canvas, shape=(n,)).copy()
                f = np.ctypeslib.as_array(conf, shape=(n,)).copy() if conf else None
                return 1 if fn(step, n_steps, c, f) else 0
            except BaseException as e:  # never let it unwind through C
                self._cb_error = e
                return 1

        cfunc = _ffi.STEP_FN(tramp)
        check(C.tdiff_sampler_set_callback(self.handle, cfunc, None), 'tdiff_sampler_set_callback', self.last_error)
        self._step_cfunc, self._step_user = cfunc, fn

    # ---------------------------------------------------------- runs

    def _run(self, cfn, fname, ids, cap, callback):
        prev = self._step_user
        if callback is not None:
            self.set_callback(callback)
        out = np.empty(max(cap, 1), dtype=np.int32)
        n_out = ctypes.c_size_t()
        try:
            self._guarded(lambda: cfn(self.handle, ptr(ids, ctypes.c_int32), ids.size, ptr(out, ctypes.c_int32), cap,
                                      ctypes.byref(n_out)), fname)
        finally:
            if callback is not None:
                self.set_callback(prev)
        return out[:n_out.value].tolist()

    def _prompt_ids(self, prompt):
        if isinstance(prompt, (str, bytes)):
            if self._model is None:
                raise TypeError('a text prompt needs a sampler made from a Model')
            return ids_array(self._model.tokenize(prompt))
        return ids_array(prompt, 'prompt')

    def generate(self, prompt, callback=None):
        """Token ids generated after the prompt (ids, or text tokenized with BOS as the model
        says). The prompt itself is not included; with cut_at_eos the output ends before EOS.
        callback: a step callback for this call only."""
        ids = self._prompt_ids(prompt)
        cap = int(self.get(SamplerParam.GEN_LENGTH))
        return self._run(C.tdiff_sampler_generate, 'tdiff_sampler_generate', ids, cap, callback)

    def infill(self, canvas, callback=None):
        """The whole canvas with its mask tokens filled (canvas: ids with the mask id where
        text is wanted, or text with [MASK:n] holes as `textdiff infill` takes)."""
        ids = self._canvas_ids(canvas) if isinstance(canvas, str) else ids_array(canvas, 'canvas')
        return self._run(C.tdiff_sampler_infill, 'tdiff_sampler_infill', ids, ids.size, callback)

    def _canvas_ids(self, text):
        """"The [MASK:3] sat" -> ids: the segments tokenized (special tokens on the first,
        as the tool does), each hole n mask ids. A hole is "[MASK:" + decimal digits (n >= 1)
        + "]"; anything else starting with "[MASK:" is an error, as in `textdiff infill`."""
        if self._model is None:
            raise TypeError('a text canvas needs a sampler made from a Model')
        mask = self._model.mask_id
        ids, first, pos = [], True, 0
        for seg, n in split_holes(text):
            if seg or first:
                ids += self._model.tokenize(seg, add_special=first)
            first = False
            ids += [mask] * n
        return ids_array(ids)

    # ---------------------------------------------------------- incremental generation

    def _guarded(self, call, fname):
        """Runs call() -> status; a callback exception raised inside wins over the status."""
        self._cb_error = None
        st = call()
        err, self._cb_error = self._cb_error, None
        if err is not None:
            raise err from TextdiffError(st, self.last_error(), fname)
        check(st, fname, self.last_error)

    def begin(self, prompt):
        """Starts a generation like generate() without running a step (then step(),
        step_for(), canvas(), result() or cancel()). Parameters are frozen until it ends."""
        ids = self._prompt_ids(prompt)
        check(C.tdiff_sampler_begin(self.handle, ptr(ids, ctypes.c_int32), ids.size), 'tdiff_sampler_begin',
              self.last_error)

    def begin_infill(self, canvas):
        """Starts an infilling generation like infill() (ids or text with [MASK:n] holes)."""
        ids = self._canvas_ids(canvas) if isinstance(canvas, str) else ids_array(canvas, 'canvas')
        check(C.tdiff_sampler_begin_infill(self.handle, ptr(ids, ctypes.c_int32), ids.size),
              'tdiff_sampler_begin_infill', self.last_error)

    def step(self):
        """Runs one step (the step callback runs too); True when the generation is done.
        An error or a stop from the callback ends the generation (the sampler is idle)."""
        done = ctypes.c_int()
        self._guarded(lambda: C.tdiff_sampler_step(self.handle, ctypes.byref(done)), 'tdiff_sampler_step')
        return bool(done.value)

    def step_for(self, budget_us):
        """Runs steps for about budget_us microseconds (at least one step, never interrupting
        one); returns (steps taken, done)."""
        done, taken = ctypes.c_int(), ctypes.c_size_t()
        self._guarded(lambda: C.tdiff_sampler_step_for(self.handle, int(budget_us), ctypes.byref(taken),
                                                       ctypes.byref(done)), 'tdiff_sampler_step_for')
        return taken.value, bool(done.value)

    def canvas(self):
        """(tokens int32 [n], confidence float32 [n], masked bool [n]) of the generation in
        progress: the whole canvas, prompt included; confidence of the last step (NaN where
        nothing was predicted)."""
        n = ctypes.c_size_t()
        st = C.tdiff_sampler_canvas(self.handle, None, None, None, 0, ctypes.byref(n))
        check(st, 'tdiff_sampler_canvas', self.last_error)
        tokens = np.empty(n.value, dtype=np.int32)
        conf = np.empty(n.value, dtype=np.float32)
        masked = np.empty(n.value, dtype=np.uint8)
        check(C.tdiff_sampler_canvas(self.handle, ptr(tokens, ctypes.c_int32), ptr(conf, ctypes.c_float),
                                     ptr(masked, ctypes.c_uint8), n.value, ctypes.byref(n)), 'tdiff_sampler_canvas',
              self.last_error)
        return tokens, conf, masked.astype(bool)

    def progress(self):
        """(GenState, steps taken, steps planned: 0 before the first step, an upper bound for
        adaptive strategies)."""
        state, taken, planned = ctypes.c_int(), ctypes.c_size_t(), ctypes.c_size_t()
        check(C.tdiff_sampler_progress(self.handle, ctypes.byref(state), ctypes.byref(taken), ctypes.byref(planned)),
              'tdiff_sampler_progress', self.last_error)
        return GenState(state.value), taken.value, planned.value

    def cancel(self):
        """Abandons the generation in progress (TextdiffError STATE when there is none)."""
        check(C.tdiff_sampler_cancel(self.handle), 'tdiff_sampler_cancel', self.last_error)

    def interrupt(self):
        """Asks the call running on this sampler (generate, infill, step, step_for) to stop: the one
        method that may be called from another thread while that call runs (it raises TextdiffError
        ABORTED there, and the generation ends). Cleared when the next generation begins."""
        C.tdiff_sampler_interrupt(self.handle)

    def result(self):
        """The result of a finished generation, as generate() or infill() would return it;
        the sampler is idle again."""
        n = ctypes.c_size_t()
        st = C.tdiff_sampler_canvas(self.handle, None, None, None, 0, ctypes.byref(n))
        check(st, 'tdiff_sampler_result', self.last_error)  # STATE when idle
        cap = max(n.value, 1)  # the canvas holds every result (generated part or whole canvas)
        for _ in range(2):
            out = np.empty(cap, dtype=np.int32)
            st = C.tdiff_sampler_result(self.handle, ptr(out, ctypes.c_int32), cap, ctypes.byref(n))
            if st != Status.BUFFER_TOO_SMALL:
                break
            cap = n.value  # the generation stays DONE: ask again with the size it needs
        check(st, 'tdiff_sampler_result', self.last_error)
        return out[:n.value].tolist()

    def history(self):
        """The canvas after every step of the last run (needs keep_history=1):
        numpy int32 [n_steps, n_canvas] (a copy)."""
        data = _ffi.i32_p()
        ns, nc = ctypes.c_size_t(), ctypes.c_size_t()
        check(C.tdiff_sampler_history(self.handle, ctypes.byref(data), ctypes.byref(ns), ctypes.byref(nc)),
              'tdiff_sampler_history', self.last_error)
        if ns.value * nc.value == 0:
            return np.zeros((ns.value, nc.value), dtype=np.int32)
        return np.ctypeslib.as_array(data, shape=(ns.value, nc.value)).copy()
