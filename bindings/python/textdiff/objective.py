"""objective.py -- training objectives (experimental in the C header, lib/objective):
the masked-diffusion NELBO of a text under a Python network or a library Denoiser, D3PM's
variational bound, and score(): the NELBO of a text under a Model as `textdiff score`
computes it. The scheduler / transition handle is only read; failures raise TextdiffError
with the library's message.
"""
import collections
import ctypes

import numpy as np

from . import _ffi
from ._errors import Status, TextdiffError, check
from ._util import ERR_CAP, enum_value, ids_array, ptr
from .constants import NelboMethod, ScheduleKind

C = _ffi.C

Score = collections.namedtuple('Score', 'nelbo per_token std_error perplexity_bound n_tokens')


def _python_denoiser(logits_fn, n_vocab, failure):
    """A DENOISE_FN calling logits_fn(tokens int32 [n], t) -> [n, n_vocab]. An exception is
    appended to `failure` and stops the library's loop (it never unwinds through C). The
    caller keeps the returned object alive for the whole library call."""
    def tramp(ud, toks, n, t, logits):
        try:
            x = np.ctypeslib.as_array(toks, shape=(n,)).copy()
            res = np.asarray(logits_fn(x, float(t)), dtype=np.float32)
            if res.shape != (n, n_vocab):
                raise ValueError('logits_fn returned shape %s, expected %s' % (res.shape, (n, n_vocab)))
            np.ctypeslib.as_array(logits, shape=(n, n_vocab))[...] = res
            return 0
        except BaseException as e:
            failure.append(e)
            return int(Status.ABORTED)
    return _ffi.DENOISE_FN(tramp)


def _finish(st, function, err, failure, out, n):
    msg = err.value.decode('utf-8', 'replace')
    if failure:
        raise failure[0] from TextdiffError(st, msg, function)
    check(st, function, msg)
    per_token = out[1].value
    return Score(out[0].value, per_token, out[2].value, float(np.exp(per_token)), n)


def nelbo(scheduler, logits_fn, tokens, n_vocab, mask_id, method=NelboMethod.QUADRATURE, n_samples=32, seed=0):
    """Masked-diffusion NELBO of tokens under a Python network
    logits_fn(tokens int32 [n], t float) -> logits [n, n_vocab], with the scheduler's
    schedule. Returns a Score; an exception in logits_fn is re-raised here."""
    ids = ids_array(tokens)
    m = enum_value(NelboMethod, method, 'NELBO method')
    failure = []
    cfunc = _python_denoiser(logits_fn, int(n_vocab), failure)  # alive for the whole call
    out = [ctypes.c_double() for _ in range(3)]
    err = ctypes.create_string_buffer(ERR_CAP)
    st = C.tdiff_objective_nelbo(scheduler.handle, cfunc, None, ptr(ids, ctypes.c_int32), ids.size, int(n_vocab),
                                 int(mask_id), m, int(n_samples), int(seed), *[ctypes.byref(o) for o in out], err,
                                 len(err))
    return _finish(st, 'tdiff_objective_nelbo', err, failure, out, ids.size)


def nelbo_denoiser(scheduler, denoiser, tokens, mask_id, method=NelboMethod.QUADRATURE, n_samples=32, seed=0):
    """The same bound with a library Denoiser supplying the logits. Returns a Score."""
    ids = ids_array(tokens)
    m = enum_value(NelboMethod, method, 'NELBO method')
    out = [ctypes.c_double() for _ in range(3)]
    err = ctypes.create_string_buffer(ERR_CAP)
    st = C.tdiff_objective_nelbo_denoiser(scheduler.handle, denoiser.handle, ptr(ids, ctypes.c_int32), ids.size,
                                          int(mask_id), m, int(n_samples), int(seed), *[ctypes.byref(o) for o in out],
                                          err, len(err))
    return _finish(st, 'tdiff_objective_nelbo_denoiser', err, [], out, ids.size)


def d3pm_loss(transition, logits_fn, tokens, n_samples=16, seed=0):
    """D3PM's variational bound of tokens under logits_fn(tokens int32 [n], t float) ->
    logits [n, V], as D3PM's reference code computes it. Returns a Score."""
    ids = ids_array(tokens)
    failure = []
    cfunc = _python_denoiser(logits_fn, transition.n_vocab, failure)  # alive for the whole call
    out = [ctypes.c_double() for _ in range(3)]
    err = ctypes.create_string_buffer(ERR_CAP)
    st = C.tdiff_objective_d3pm_loss(transition.handle, cfunc, None, ptr(ids, ctypes.c_int32), ids.size,
                                     int(n_samples), int(seed), *[ctypes.byref(o) for o in out], err, len(err))
    return _finish(st, 'tdiff_objective_d3pm_loss', err, failure, out, ids.size)


def ar_nll(denoiser, tokens, n_cond=1):
    """The exact negative log-likelihood of tokens[n_cond:] given what precedes each under an
    autoregressive (llama / qwen2) Denoiser, one causal pass (tdiff_objective_ar_nll). Returns a
    Score: nelbo = the exact NLL (nats), std_error 0, perplexity_bound = the perplexity itself,
    n_tokens = the scored count."""
    ids = ids_array(tokens)
    out = [ctypes.c_double() for _ in range(2)]
    err = ctypes.create_string_buffer(ERR_CAP)
    st = C.tdiff_objective_ar_nll(denoiser.handle, ptr(ids, ctypes.c_int32), ids.size, int(n_cond),
                                  *[ctypes.byref(o) for o in out], err, len(err))
    return _finish(st, 'tdiff_objective_ar_nll', err, [], out + [ctypes.c_double(0.0)], max(ids.size - int(n_cond), 0))


def score(model, tokens, method=NelboMethod.QUADRATURE, n_samples=32, seed=0, schedule=ScheduleKind.LOGLINEAR,
          n_threads=1):
    """NELBO of `tokens` (ids, or a str tokenized without special tokens, as `textdiff
    score` does) under `model`, scored as one window. Same defaults as the tool:
    quadrature, 32 samples, seed 0, log-linear schedule. Returns a Score (nats)."""
    ids = ids_array(model.tokenize(tokens, add_special=False) if isinstance(tokens, (str, bytes)) else tokens)
    mask = model.mask_id
    if mask is None:
        raise TextdiffError(Status.BAD_FORMAT, 'the model has no mask token: not a masked diffusion model', 'score')
    from .denoiser import Denoiser
    from .scheduler import Scheduler
    with Scheduler(schedule) as s, Denoiser(model, max(ids.size, 1), n_threads) as d:
        return nelbo_denoiser(s, d, ids, mask, method=method, n_samples=n_samples, seed=seed)
