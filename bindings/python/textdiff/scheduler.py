"""scheduler.py -- Scheduler (tdiff_scheduler): noise schedules and their queries, forward
noise on token arrays, the masked-diffusion NELBO (with a library denoiser or a Python
network), the transfer schedules (how many tokens a step commits), Transition
(D3PM/SEDD matrices), and score(): the NELBO of a text under a Model.
"""
import collections
import ctypes

import numpy as np

from . import _ffi
from ._handle import Handle
from ._host import HOST_P
from ._errors import Status, TextdiffError, check
from ._util import ERR_CAP, enum_value, f32_array, ids_array, ptr
from .constants import NelboMethod, Quantity, ScheduleKind, SchedulerParam, TransitionKind

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


def _score(nelbo, per_token, se, n):
    return Score(nelbo, per_token, se, float(np.exp(per_token)), n)


class Scheduler(Handle):
    """Scheduler(kind='loglinear'): kind is a ScheduleKind or its name (linear, cosine,
    maskgit_cosine, loglinear, geometric, sqrt, spindle). One thread at a time."""

    _what = 'scheduler'
    _free_fn = 'tdiff_scheduler_free'
    _error_fn = 'tdiff_scheduler_last_error'

    def __init__(self, kind=ScheduleKind.LOGLINEAR):
        self._h = None
        k = enum_value(ScheduleKind, kind, 'schedule kind')
        out = ctypes.c_void_p()
        err = ctypes.create_string_buffer(ERR_CAP)
        st = C.tdiff_scheduler_create(k, HOST_P, ctypes.byref(out), err, len(err))
        check(st, 'tdiff_scheduler_create', err.value.decode('utf-8', 'replace'))
        self._h = out.value

    @property
    def kind(self):
        return ScheduleKind(C.tdiff_scheduler_kind(self.handle))

    # ---------------------------------------------------------- parameters

    def get(self, param):
        p = enum_value(SchedulerParam, param, 'scheduler parameter')
        v = ctypes.c_double()
        check(C.tdiff_scheduler_get_float(self.handle, p, ctypes.byref(v)), 'tdiff_scheduler_get_float',
              self.last_error)
        return v.value

    def set(self, param, value):
        p = enum_value(SchedulerParam, param, 'scheduler parameter')
        check(C.tdiff_scheduler_set_float(self.handle, p, float(value)), 'tdiff_scheduler_set_float',
              self.last_error)
        return self

    @staticmethod
    def bounds(param):
        """(min, max) of a parameter."""
        p = enum_value(SchedulerParam, param, 'scheduler parameter')
        lo, hi = ctypes.c_double(), ctypes.c_double()
        check(C.tdiff_scheduler_param_bounds(p, ctypes.byref(lo), ctypes.byref(hi)), 'tdiff_scheduler_param_bounds')
        return lo.value, hi.value

    # ---------------------------------------------------------- queries

    def eval(self, quantity, t):
        """A Quantity (or name: alpha_bar, sigma_bar, sigma_rate, alpha_bar_rate, elbo_weight)
        at continuous time t in [0, 1]."""
        q = enum_value(Quantity, quantity, 'quantity')
        v = ctypes.c_double()
        check(C.tdiff_scheduler_eval(self.handle, q, float(t), ctypes.byref(v)), 'tdiff_scheduler_eval',
              self.last_error)
        return v.value

    def eval_step(self, quantity, step, n_steps):
        """alpha_bar, sigma_bar or beta at discrete step `step` of n_steps."""
        q = enum_value(Quantity, quantity, 'quantity')
        v = ctypes.c_double()
        check(C.tdiff_scheduler_eval_step(self.handle, q, int(step), int(n_steps), ctypes.byref(v)),
              'tdiff_scheduler_eval_step', self.last_error)
        return v.value

    def alpha_bar(self, t):
        return self.eval(Quantity.ALPHA_BAR, t)

    def sigma_bar(self, t):
        return self.eval(Quantity.SIGMA_BAR, t)

    def set_token_counts(self, counts):
        a = f32_array(counts)
        check(C.tdiff_scheduler_set_token_counts(self.handle, ptr(a, ctypes.c_float), a.size),
              'tdiff_scheduler_set_token_counts', self.last_error)

    def spindle_keep(self, tokens, t):
        ids = ids_array(tokens)
        keep = np.empty(ids.size, dtype=np.float32)
        check(C.tdiff_scheduler_spindle_keep(self.handle, ptr(ids, ctypes.c_int32), ids.size, float(t),
                                             ptr(keep, ctypes.c_float)), 'tdiff_scheduler_spindle_keep',
              self.last_error)
        return keep

    # ---------------------------------------------------------- forward noise

    def noise_mask(self, x0, alpha_bar, mask_id, seed=0, stream=0, first_position=0):
        """x_t: each token replaced by mask_id with probability 1 - alpha_bar (Philox-keyed)."""
        a = ids_array(x0, 'x0')
        xt = np.empty_like(a)
        check(C.tdiff_noise_mask(self.handle, ptr(a, ctypes.c_int32), ptr(xt, ctypes.c_int32), a.size,
                                 float(alpha_bar), int(mask_id), int(seed), int(stream), int(first_position)),
              'tdiff_noise_mask', self.last_error)
        return xt

    def noise_uniform(self, x0, alpha_bar, n_vocab, seed=0, stream=0, first_position=0):
        a = ids_array(x0, 'x0')
        xt = np.empty_like(a)
        check(C.tdiff_noise_uniform(self.handle, ptr(a, ctypes.c_int32), ptr(xt, ctypes.c_int32), a.size,
                                    float(alpha_bar), int(n_vocab), int(seed), int(stream), int(first_position)),
              'tdiff_noise_uniform', self.last_error)
        return xt

    def noise_per_token(self, x0, keep, mask_id, seed=0, stream=0, first_position=0):
        """x_t: token i replaced by mask_id with probability 1 - keep[i] (spindle noise)."""
        a = ids_array(x0, 'x0')
        k = f32_array(keep)
        if k.shape != a.shape:
            raise ValueError('keep must have one probability per token')
        xt = np.empty_like(a)
        check(C.tdiff_noise_per_token(self.handle, ptr(a, ctypes.c_int32), ptr(xt, ctypes.c_int32), a.size,
                                      ptr(k, ctypes.c_float), int(mask_id), int(seed), int(stream),
                                      int(first_position)), 'tdiff_noise_per_token', self.last_error)
        return xt

    # ---------------------------------------------------------- Gaussian diffusion on vectors

    def gauss_noise(self, x0, alpha_bar, seed=0, stream=0):
        """(x_t, eps): x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps, eps ~ N(0, 1) (Philox)."""
        x = f32_array(x0)
        xt, eps = np.empty_like(x), np.empty_like(x)
        check(C.tdiff_gauss_noise(self.handle, ptr(x, ctypes.c_float), ptr(xt, ctypes.c_float), x.size,
                                  float(alpha_bar), int(seed), int(stream), ptr(eps, ctypes.c_float)),
              'tdiff_gauss_noise', self.last_error)
        return xt, eps

    def gauss_posterior_mean(self, x0, xt, alpha_bar_t, alpha_bar_prev):
        """(mean, var) of q(x_{t-1} | x_t, x_0)."""
        a, b = f32_array(x0), f32_array(xt)
        mean = np.empty_like(a)
        var = ctypes.c_double()
        check(C.tdiff_gauss_posterior_mean(self.handle, ptr(a, ctypes.c_float), ptr(b, ctypes.c_float),
                                           ptr(mean, ctypes.c_float), a.size, float(alpha_bar_t),
                                           float(alpha_bar_prev), ctypes.byref(var)),
              'tdiff_gauss_posterior_mean', self.last_error)
        return mean, var.value

    def gauss_ddpm_step(self, x0_pred, xt, alpha_bar_t, alpha_bar_prev, seed=0, stream=0):
        a, b = f32_array(x0_pred), f32_array(xt)
        out = np.empty_like(a)
        check(C.tdiff_gauss_ddpm_step(self.handle, ptr(a, ctypes.c_float), ptr(b, ctypes.c_float),
                                      ptr(out, ctypes.c_float), a.size, float(alpha_bar_t), float(alpha_bar_prev),
                                      int(seed), int(stream)), 'tdiff_gauss_ddpm_step', self.last_error)
        return out

    def gauss_ddim_step(self, x0_pred, xt, alpha_bar_t, alpha_bar_prev, eta=0.0, seed=0, stream=0):
        a, b = f32_array(x0_pred), f32_array(xt)
        out = np.empty_like(a)
        check(C.tdiff_gauss_ddim_step(self.handle, ptr(a, ctypes.c_float), ptr(b, ctypes.c_float),
                                      ptr(out, ctypes.c_float), a.size, float(alpha_bar_t), float(alpha_bar_prev),
                                      float(eta), int(seed), int(stream)), 'tdiff_gauss_ddim_step', self.last_error)
        return out

    def embed_nearest(self, emb, x):
        """(ids [n], clamped [n, dim]): the nearest row of emb [n_vocab, dim] to each row of x [n, dim]."""
        e, v = f32_array(emb), f32_array(x)
        if e.ndim != 2 or v.ndim != 2 or e.shape[1] != v.shape[1]:
            raise ValueError('emb [n_vocab, dim] and x [n, dim] must share dim')
        ids = np.empty(v.shape[0], dtype=np.int32)
        clamped = np.empty_like(v)
        check(C.tdiff_embed_nearest(self.handle, ptr(e, ctypes.c_float), e.shape[0], e.shape[1],
                                    ptr(v, ctypes.c_float), v.shape[0], ptr(ids, ctypes.c_int32),
                                    ptr(clamped, ctypes.c_float)), 'tdiff_embed_nearest', self.last_error)
        return ids, clamped

    # ---------------------------------------------------------- NELBO

    def nelbo(self, logits_fn, tokens, n_vocab, mask_id, method=NelboMethod.QUADRATURE, n_samples=32, seed=0):
        """Masked-diffusion NELBO of tokens under a Python network:
        logits_fn(tokens int32 [n], t float) -> logits [n, n_vocab]. Returns a Score.
        An exception in logits_fn stops the computation and is re-raised here."""
        ids = ids_array(tokens)
        m = enum_value(NelboMethod, method, 'NELBO method')
        failure = []
        cfunc = _python_denoiser(logits_fn, int(n_vocab), failure)  # alive for the whole call
        out = [ctypes.c_double() for _ in range(3)]
        st = C.tdiff_scheduler_nelbo(self.handle, cfunc, None, ptr(ids, ctypes.c_int32), ids.size, int(n_vocab),
                                     int(mask_id), m, int(n_samples), int(seed), *[ctypes.byref(o) for o in out])
        if failure:
            raise failure[0] from TextdiffError(st, self.last_error(), 'tdiff_scheduler_nelbo')
        check(st, 'tdiff_scheduler_nelbo', self.last_error)
        return _score(out[0].value, out[1].value, out[2].value, ids.size)

    def nelbo_denoiser(self, denoiser, tokens, mask_id, method=NelboMethod.QUADRATURE, n_samples=32, seed=0):
        """The same bound with a library Denoiser supplying the logits. Returns a Score."""
        ids = ids_array(tokens)
        m = enum_value(NelboMethod, method, 'NELBO method')
        out = [ctypes.c_double() for _ in range(3)]
        st = C.tdiff_scheduler_nelbo_denoiser(self.handle, denoiser.handle, ptr(ids, ctypes.c_int32), ids.size,
                                              int(mask_id), m, int(n_samples), int(seed),
                                              *[ctypes.byref(o) for o in out])
        check(st, 'tdiff_scheduler_nelbo_denoiser', self.last_error)
        return _score(out[0].value, out[1].value, out[2].value, ids.size)


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
    with Scheduler(schedule) as s, Denoiser(model, max(ids.size, 1), n_threads) as d:
        return s.nelbo_denoiser(d, ids, mask, method=method, n_samples=n_samples, seed=seed)


def gauss_posterior_coefs(alpha_bar_t, alpha_bar_prev):
    """(c0, ct, var) of q(x_{t-1} | x_t, x_0) = N(c0 x_0 + ct x_t, var)."""
    c0, ct, var = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    check(C.tdiff_gauss_posterior_coefs(float(alpha_bar_t), float(alpha_bar_prev), ctypes.byref(c0),
                                        ctypes.byref(ct), ctypes.byref(var)), 'tdiff_gauss_posterior_coefs')
    return c0.value, ct.value, var.value


# ---------------------------------------------------------------- transfer schedules

def transfer_llada(n_masked, steps):
    """Tokens committed at each of `steps` steps of a LLaDA block (list, sums to n_masked)."""
    counts = (ctypes.c_size_t * max(int(steps), 1))()
    needed = ctypes.c_size_t()
    check(C.tdiff_transfer_llada(int(n_masked), int(steps), counts, len(counts), ctypes.byref(needed)),
          'tdiff_transfer_llada')
    return list(counts[:int(steps)])


def transfer_dream_timesteps(steps, eps=1e-3):
    out = np.empty(int(steps) + 1, dtype=np.float32)
    needed = ctypes.c_size_t()
    check(C.tdiff_transfer_dream_timesteps(int(steps), float(eps), ptr(out, ctypes.c_float), out.size,
                                           ctypes.byref(needed)), 'tdiff_transfer_dream_timesteps')
    return out


def transfer_dream(n_masked, step, steps, eps=1e-3):
    v = ctypes.c_size_t()
    check(C.tdiff_transfer_dream(int(n_masked), int(step), int(steps), float(eps), ctypes.byref(v)),
          'tdiff_transfer_dream')
    return v.value


def transfer_maskgit(n_initial, n_masked, step, steps):
    v = ctypes.c_size_t()
    check(C.tdiff_transfer_maskgit(int(n_initial), int(n_masked), int(step), int(steps), ctypes.byref(v)),
          'tdiff_transfer_maskgit')
    return v.value


def transfer_mask_predict(n, iteration, n_iters):
    v = ctypes.c_size_t()
    check(C.tdiff_transfer_mask_predict(int(n), int(iteration), int(n_iters), ctypes.byref(v)),
          'tdiff_transfer_mask_predict')
    return v.value


# ---------------------------------------------------------------- transitions

class Transition(Handle):
    """Transition(kind, n_vocab, scheduler, n_steps, mask_id=0): D3PM matrices Q_t built from
    the scheduler's discrete schedule (UNIFORM, ABSORBING, GAUSSIAN; the scheduler is only
    read at creation), or Transition.from_matrices(...) for caller matrices (DENSE, BANDED).
    Distributions are float32 rows [n, V]; token arrays int32 [n]."""

    _what = 'transition'
    _free_fn = 'tdiff_transition_free'
    _error_fn = 'tdiff_transition_last_error'

    def __init__(self, kind, n_vocab, scheduler, n_steps, mask_id=0):
        self._h = None
        k = enum_value(TransitionKind, kind, 'transition kind')
        out = ctypes.c_void_p()
        err = ctypes.create_string_buffer(ERR_CAP)
        st = C.tdiff_transition_create(k, int(n_vocab), int(mask_id), scheduler.handle, int(n_steps), HOST_P,
                                       ctypes.byref(out), err, len(err))
        check(st, 'tdiff_transition_create', err.value.decode('utf-8', 'replace'))
        self._h = out.value

    @classmethod
    def from_matrices(cls, q, n_steps, bandwidth=None, tol=1e-5):
        """DENSE: q [n_mats, V, V] (or [V, V]); BANDED (bandwidth b given): q [n_mats, V, 2b+1]
        with Q[i, j] at [i, j - i + b]. n_mats is 1 (the same Q every step) or n_steps.
        The library checks every row; TextdiffError names the first bad matrix/row."""
        a = f32_array(q)
        if a.ndim == 2:
            a = a[None]
        kind = TransitionKind.DENSE if bandwidth is None else TransitionKind.BANDED
        self = cls.__new__(cls)
        self._h = None
        out = ctypes.c_void_p()
        err = ctypes.create_string_buffer(ERR_CAP)
        st = C.tdiff_transition_create_user(kind, a.shape[1], int(n_steps), int(bandwidth or 0),
                                            ptr(a, ctypes.c_float), a.shape[0], float(tol), HOST_P,
                                            ctypes.byref(out), err, len(err))
        check(st, 'tdiff_transition_create_user', err.value.decode('utf-8', 'replace'))
        self._h = out.value
        return self

    @property
    def n_vocab(self):
        return C.tdiff_transition_n_vocab(self.handle)

    @property
    def n_steps(self):
        return C.tdiff_transition_n_steps(self.handle)

    def _rows(self, p):
        a = f32_array(p)
        if a.ndim == 1:
            a = a[None]
        if a.ndim != 2 or a.shape[1] != self.n_vocab:
            raise ValueError('expected rows of n_vocab = %d probabilities' % self.n_vocab)
        return np.ascontiguousarray(a)

    def matrix(self, t, cumulative=False):
        """Q_t (or Q-bar_t) as float64 [V, V]."""
        v = self.n_vocab
        out = np.empty((v, v), dtype=np.float64)
        needed = ctypes.c_size_t()
        check(C.tdiff_transition_matrix(self.handle, int(t), int(bool(cumulative)), ptr(out, ctypes.c_double),
                                        out.size, ctypes.byref(needed)), 'tdiff_transition_matrix', self.last_error)
        return out

    def apply(self, p, t, cumulative=False):
        """p [n, V] @ Q_t (or Q-bar_t): the distribution of x_t given x_{t-1} (or x_0) ~ p."""
        a = self._rows(p)
        out = np.empty_like(a)
        check(C.tdiff_transition_apply(self.handle, int(t), int(bool(cumulative)), ptr(a, ctypes.c_float),
                                       a.shape[0], ptr(out, ctypes.c_float)), 'tdiff_transition_apply',
              self.last_error)
        return out

    def rows(self, x, t, cumulative=False):
        """Rows x[i] of Q_t (or Q-bar_t): [n, V]."""
        ids = ids_array(x, 'x')
        out = np.empty((ids.size, self.n_vocab), dtype=np.float32)
        check(C.tdiff_transition_rows(self.handle, int(t), int(bool(cumulative)), ptr(ids, ctypes.c_int32), ids.size,
                                      ptr(out, ctypes.c_float)), 'tdiff_transition_rows', self.last_error)
        return out

    def posterior(self, xt, p0, t):
        """The x0-parameterised reverse step: [n, V] rows proportional to Q_t[:, x_t] * (p0 @ Q-bar_{t-1})."""
        ids = ids_array(xt, 'xt')
        a = self._rows(p0)
        out = np.empty_like(a)
        check(C.tdiff_transition_posterior(self.handle, int(t), ptr(ids, ctypes.c_int32), ptr(a, ctypes.c_float),
                                           ids.size, ptr(out, ctypes.c_float)), 'tdiff_transition_posterior',
              self.last_error)
        return out

    def sedd_euler(self, x, score, dsigma):
        """SEDD Euler (tau-leaping) step distributions [n, V] from concrete scores [n, V]."""
        ids = ids_array(x, 'x')
        a = self._rows(score)
        out = np.empty_like(a)
        check(C.tdiff_transition_sedd_euler(self.handle, ptr(ids, ctypes.c_int32), ptr(a, ctypes.c_float), ids.size,
                                            float(dsigma), ptr(out, ctypes.c_float)), 'tdiff_transition_sedd_euler',
              self.last_error)
        return out

    def sedd_analytic(self, x, score, dsigma, drop_mask=False):
        """SEDD analytic (Tweedie) step distributions [n, V]."""
        ids = ids_array(x, 'x')
        a = self._rows(score)
        out = np.empty_like(a)
        check(C.tdiff_transition_sedd_analytic(self.handle, ptr(ids, ctypes.c_int32), ptr(a, ctypes.c_float),
                                               ids.size, float(dsigma), int(bool(drop_mask)),
                                               ptr(out, ctypes.c_float)), 'tdiff_transition_sedd_analytic',
              self.last_error)
        return out

    def d3pm_loss(self, logits_fn, tokens, n_samples=16, seed=0):
        """D3PM's variational bound of tokens under logits_fn(tokens int32 [n], t float) ->
        logits [n, V]. Returns a Score; an exception in logits_fn is re-raised here."""
        ids = ids_array(tokens)
        v = self.n_vocab
        failure = []
        cfunc = _python_denoiser(logits_fn, v, failure)  # alive for the whole call
        out = [ctypes.c_double() for _ in range(3)]
        st = C.tdiff_transition_d3pm_loss(self.handle, cfunc, None, ptr(ids, ctypes.c_int32), ids.size,
                                          int(n_samples), int(seed), *[ctypes.byref(o) for o in out])
        if failure:
            raise failure[0] from TextdiffError(st, self.last_error(), 'tdiff_transition_d3pm_loss')
        check(st, 'tdiff_transition_d3pm_loss', self.last_error)
        return _score(out[0].value, out[1].value, out[2].value, ids.size)
