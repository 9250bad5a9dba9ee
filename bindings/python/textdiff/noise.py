"""noise.py -- forward noise on token arrays (tdiff_noise_*) and, experimental in the C
header, Gaussian diffusion on float vectors (tdiff_gauss_*, tdiff_embed_nearest). Pure
functions of their arguments: Philox draws keyed by (seed, stream, position), no handle.
A bad argument raises TextdiffError INVALID_ARGUMENT (these functions keep no error text).
"""
import ctypes

import numpy as np

from . import _ffi
from ._errors import check
from ._host import HOST_P, capture
from ._util import f32_array, ids_array, ptr

C = _ffi.C


def noise_mask(x0, alpha_bar, mask_id, seed=0, stream=0, first_position=0):
    """x_t: each token replaced by mask_id with probability 1 - alpha_bar."""
    a = ids_array(x0, 'x0')
    xt = np.empty_like(a)
    check(C.tdiff_noise_mask(ptr(a, ctypes.c_int32), ptr(xt, ctypes.c_int32), a.size, float(alpha_bar), int(mask_id),
                             int(seed), int(stream), int(first_position)), 'tdiff_noise_mask',
          'alpha_bar outside [0, 1] or positions past 2^32')
    return xt


def noise_uniform(x0, alpha_bar, n_vocab, seed=0, stream=0, first_position=0):
    """x_t: each token redrawn uniformly from [0, n_vocab) with probability 1 - alpha_bar."""
    a = ids_array(x0, 'x0')
    xt = np.empty_like(a)
    check(C.tdiff_noise_uniform(ptr(a, ctypes.c_int32), ptr(xt, ctypes.c_int32), a.size, float(alpha_bar),
                                int(n_vocab), int(seed), int(stream), int(first_position)), 'tdiff_noise_uniform',
          'alpha_bar outside [0, 1], n_vocab out of range, a token outside the vocabulary, or positions past 2^32')
    return xt


def noise_per_token(x0, keep, mask_id, seed=0, stream=0, first_position=0):
    """x_t: token i replaced by mask_id with probability 1 - keep[i] (spindle noise)."""
    a = ids_array(x0, 'x0')
    k = f32_array(keep)
    if k.shape != a.shape:
        raise ValueError('keep must have one probability per token')
    xt = np.empty_like(a)
    check(C.tdiff_noise_per_token(ptr(a, ctypes.c_int32), ptr(xt, ctypes.c_int32), a.size, ptr(k, ctypes.c_float),
                                  int(mask_id), int(seed), int(stream), int(first_position)), 'tdiff_noise_per_token',
          'a keep probability outside [0, 1] or positions past 2^32')
    return xt


def gauss_noise(x0, alpha_bar, seed=0, stream=0):
    """(x_t, eps): x_t = sqrt(alpha_bar) x0 + sqrt(1 - alpha_bar) eps, eps ~ N(0, 1)."""
    x = f32_array(x0)
    xt, eps = np.empty_like(x), np.empty_like(x)
    check(C.tdiff_gauss_noise(ptr(x, ctypes.c_float), ptr(xt, ctypes.c_float), x.size, float(alpha_bar), int(seed),
                              int(stream), ptr(eps, ctypes.c_float)), 'tdiff_gauss_noise', 'alpha_bar outside [0, 1]')
    return xt, eps


_ABAR_RULE = 'need 0 <= alpha_bar_t <= alpha_bar_prev <= 1, alpha_bar_t < 1, alpha_bar_prev > 0'


def gauss_posterior_coefs(alpha_bar_t, alpha_bar_prev):
    """(c0, ct, var) of q(x_{t-1} | x_t, x_0) = N(c0 x_0 + ct x_t, var)."""
    c0, ct, var = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    check(C.tdiff_gauss_posterior_coefs(float(alpha_bar_t), float(alpha_bar_prev), ctypes.byref(c0),
                                        ctypes.byref(ct), ctypes.byref(var)), 'tdiff_gauss_posterior_coefs', _ABAR_RULE)
    return c0.value, ct.value, var.value


def gauss_posterior_mean(x0, xt, alpha_bar_t, alpha_bar_prev):
    """(mean, var) of q(x_{t-1} | x_t, x_0)."""
    a, b = f32_array(x0), f32_array(xt)
    mean = np.empty_like(a)
    var = ctypes.c_double()
    check(C.tdiff_gauss_posterior_mean(ptr(a, ctypes.c_float), ptr(b, ctypes.c_float), ptr(mean, ctypes.c_float),
                                       a.size, float(alpha_bar_t), float(alpha_bar_prev), ctypes.byref(var)),
          'tdiff_gauss_posterior_mean', _ABAR_RULE)
    return mean, var.value


def gauss_ddpm_step(x0_pred, xt, alpha_bar_t, alpha_bar_prev, seed=0, stream=0):
    a, b = f32_array(x0_pred), f32_array(xt)
    out = np.empty_like(a)
    check(C.tdiff_gauss_ddpm_step(ptr(a, ctypes.c_float), ptr(b, ctypes.c_float), ptr(out, ctypes.c_float), a.size,
                                  float(alpha_bar_t), float(alpha_bar_prev), int(seed), int(stream)),
          'tdiff_gauss_ddpm_step', _ABAR_RULE)
    return out


def gauss_ddim_step(x0_pred, xt, alpha_bar_t, alpha_bar_prev, eta=0.0, seed=0, stream=0):
    a, b = f32_array(x0_pred), f32_array(xt)
    out = np.empty_like(a)
    check(C.tdiff_gauss_ddim_step(ptr(a, ctypes.c_float), ptr(b, ctypes.c_float), ptr(out, ctypes.c_float), a.size,
                                  float(alpha_bar_t), float(alpha_bar_prev), float(eta), int(seed), int(stream)),
          'tdiff_gauss_ddim_step', _ABAR_RULE + ', eta in [0, 1]')
    return out


def embed_nearest(emb, x):
    """(ids [n], clamped [n, dim]): the nearest row of emb [n_vocab, dim] to each row of x [n, dim]."""
    e, v = f32_array(emb), f32_array(x)
    if e.ndim != 2 or v.ndim != 2 or e.shape[1] != v.shape[1]:
        raise ValueError('emb [n_vocab, dim] and x [n, dim] must share dim')
    ids = np.empty(v.shape[0], dtype=np.int32)
    clamped = np.empty_like(v)
    with capture() as logged:  # the reason is logged through the binding's host
        st = C.tdiff_embed_nearest(HOST_P, ptr(e, ctypes.c_float), e.shape[0], e.shape[1], ptr(v, ctypes.c_float),
                                   v.shape[0], ptr(ids, ctypes.c_int32), ptr(clamped, ctypes.c_float))
    check(st, 'tdiff_embed_nearest', logged)
    return ids, clamped
