"""scheduler.py -- Scheduler (tdiff_scheduler): noise schedules and their queries, the
transfer schedules (how many tokens a step commits), and Transition (D3PM/SEDD
matrices). Forward noise lives in noise.py (pure functions), the NELBO and the D3PM
loss in objective.py; the methods of the same names here are their deprecated 0.1
spellings, kept for one release.
"""
import ctypes

import numpy as np

from . import _ffi, noise, objective
from ._handle import Handle
from ._host import HOST_P
from ._errors import check
from ._util import ERR_CAP, deprecated, enum_value, f32_array, ids_array, param_bounds, param_from_name, param_name, ptr
from .constants import NelboMethod, Quantity, ScheduleKind, SchedulerParam, TransitionKind

C = _ffi.C


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
        """(min, max, default) of a parameter."""
        return param_bounds('tdiff_scheduler_param_bounds', SchedulerParam, param, 'scheduler parameter')

    @staticmethod
    def param_name(param):
        """The library's name of a parameter ("sigma_min")."""
        return param_name('tdiff_scheduler_param_name', SchedulerParam, param, 'scheduler parameter')

    @staticmethod
    def param_from_name(name):
        """The SchedulerParam the library names `name`."""
        return param_from_name('tdiff_scheduler_param_from_name', SchedulerParam, name)

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

    # ---------------------------------------------------------- deprecated 0.1 spellings

    def noise_mask(self, *args, **kw):
        """Deprecated: textdiff.noise_mask (the kernel needs no scheduler)."""
        deprecated('Scheduler.noise_mask', 'textdiff.noise_mask')
        return noise.noise_mask(*args, **kw)

    def noise_uniform(self, *args, **kw):
        """Deprecated: textdiff.noise_uniform."""
        deprecated('Scheduler.noise_uniform', 'textdiff.noise_uniform')
        return noise.noise_uniform(*args, **kw)

    def noise_per_token(self, *args, **kw):
        """Deprecated: textdiff.noise_per_token."""
        deprecated('Scheduler.noise_per_token', 'textdiff.noise_per_token')
        return noise.noise_per_token(*args, **kw)

    def gauss_noise(self, *args, **kw):
        """Deprecated: textdiff.gauss_noise."""
        deprecated('Scheduler.gauss_noise', 'textdiff.gauss_noise')
        return noise.gauss_noise(*args, **kw)

    def gauss_posterior_mean(self, *args, **kw):
        """Deprecated: textdiff.gauss_posterior_mean."""
        deprecated('Scheduler.gauss_posterior_mean', 'textdiff.gauss_posterior_mean')
        return noise.gauss_posterior_mean(*args, **kw)

    def gauss_ddpm_step(self, *args, **kw):
        """Deprecated: textdiff.gauss_ddpm_step."""
        deprecated('Scheduler.gauss_ddpm_step', 'textdiff.gauss_ddpm_step')
        return noise.gauss_ddpm_step(*args, **kw)

    def gauss_ddim_step(self, *args, **kw):
        """Deprecated: textdiff.gauss_ddim_step."""
        deprecated('Scheduler.gauss_ddim_step', 'textdiff.gauss_ddim_step')
        return noise.gauss_ddim_step(*args, **kw)

    def embed_nearest(self, *args, **kw):
        """Deprecated: textdiff.embed_nearest."""
        deprecated('Scheduler.embed_nearest', 'textdiff.embed_nearest')
        return noise.embed_nearest(*args, **kw)

    def nelbo(self, logits_fn, tokens, n_vocab, mask_id, method=NelboMethod.QUADRATURE, n_samples=32, seed=0):
        """Deprecated: textdiff.nelbo(scheduler, ...) (tdiff_objective_nelbo)."""
        deprecated('Scheduler.nelbo', 'textdiff.nelbo')
        return objective.nelbo(self, logits_fn, tokens, n_vocab, mask_id, method, n_samples, seed)

    def nelbo_denoiser(self, denoiser, tokens, mask_id, method=NelboMethod.QUADRATURE, n_samples=32, seed=0):
        """Deprecated: textdiff.nelbo_denoiser(scheduler, ...) (tdiff_objective_nelbo_denoiser)."""
        deprecated('Scheduler.nelbo_denoiser', 'textdiff.nelbo_denoiser')
        return objective.nelbo_denoiser(self, denoiser, tokens, mask_id, method, n_samples, seed)


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
        """Deprecated: textdiff.d3pm_loss(transition, ...) (tdiff_objective_d3pm_loss)."""
        deprecated('Transition.d3pm_loss', 'textdiff.d3pm_loss')
        return objective.d3pm_loss(self, logits_fn, tokens, n_samples, seed)
