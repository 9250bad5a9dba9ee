"""textdiff -- Python binding of libtextdiff (text diffusion language models), through
ctypes: no compiled extension, numpy for arrays.

    import textdiff
    with textdiff.Model("model.gguf") as m:
        s = m.sampler(steps=16, gen_length=32, seed=1)
        ids = s.generate(m.tokenize("It is a truth"))
        print(m.detokenize(ids))

The shared library is found through $TEXTDIFF_LIB, then the installed libtextdiff.so.0,
then the repository's build/lib/ (see textdiff._ffi). Every failing call raises
TextdiffError with the library's status code and message.
"""
import ctypes

from . import _ffi
from ._host import HOST_P, capture
from ._errors import Status, TextdiffError, check, status_string
from .constants import (Attention, CacheMode, Compat, DenoiserParam, GenState, Isa, MetaType, ModelParam,
                        NelboMethod, Quantity, Remasking, SamplerParam, ScheduleKind, SchedulerParam, SoftMaskParam,
                        Special, Strategy, TokenizerKind, TransitionKind)
from .denoiser import Denoiser
from .model import Model
from .sampler import Sampler, param_bounds, remasking_name, strategy_name
from .softmask import SoftMask
from .noise import (embed_nearest, gauss_ddim_step, gauss_ddpm_step, gauss_noise, gauss_posterior_coefs,
                    gauss_posterior_mean, noise_mask, noise_per_token, noise_uniform)
from .objective import Score, ar_nll, d3pm_loss, nelbo, nelbo_denoiser, score
from .scheduler import (Scheduler, Transition, transfer_dream, transfer_dream_timesteps, transfer_llada,
                        transfer_mask_predict, transfer_maskgit)
from .tokenizer import Tokenizer, TokenStream

__version__ = '0.1.0'

C = _ffi.C


def version():
    """The linked library's version string, e.g. '0.1.0'."""
    return C.tdiff_version_string().decode()


def version_number():
    """MAJOR*10000 + MINOR*100 + PATCH of the linked library."""
    return C.tdiff_version_number()


def isa():
    """Name of the SIMD variant in use ('scalar', 'avx2', 'avx512', 'neon'), as a valid
    TDIFF_FORCE_ISA lowers it (any other value of the variable is ignored)."""
    return C.tdiff_isa_name().decode()


def isa_supported(which):
    """True when this build and CPU can run the variant (Isa member or name)."""
    v = Isa[which.upper()] if isinstance(which, str) else Isa(which)
    return bool(C.tdiff_isa_supported(v))


def isa_active():
    """The SIMD variant handles created now use (Isa member), as a valid TDIFF_FORCE_ISA
    lowers it (any other value of the variable is ignored)."""
    v = ctypes.c_int()
    check(C.tdiff_isa_active(ctypes.byref(v)), 'tdiff_isa_active')
    return Isa(v.value)


def cpu_features():
    """The CPU's SIMD features that matter to the variants, e.g. 'avx2 fma f16c avx512f ...'."""
    return C.tdiff_isa_cpu_features().decode()


def isa_to_string(which):
    return C.tdiff_isa_to_string(int(which)).decode()


def isa_self_check():
    """Runs every kernel of the active variant against the scalar reference; returns the
    variant checked, raises TextdiffError (INTERNAL) on a disagreement."""
    v = ctypes.c_int()
    with capture() as logged:  # the first mismatch is logged
        st = C.tdiff_isa_self_check(HOST_P, ctypes.byref(v))
    check(st, 'tdiff_isa_self_check', logged)
    return Isa(v.value)


def library_path():
    """The path (or name) the shared library was loaded from."""
    return _ffi.lib_path


def rng_uniform(seed, step, position, draw):
    """The library's Philox uniform in (0, 1) keyed by (seed, step, position, draw)."""
    return C.tdiff_rng_uniform(seed, step, position, draw)


def philox4x32(counter, key):
    """Philox4x32-10 of four 32-bit counter words and two key words -> four words."""
    c = (ctypes.c_uint32 * 4)(*counter)
    k = (ctypes.c_uint32 * 2)(*key)
    out = (ctypes.c_uint32 * 4)()
    C.tdiff_philox4x32(c, k, out)
    return list(out)


__all__ = [
    'Model', 'Tokenizer', 'TokenStream', 'Denoiser', 'SoftMask', 'Sampler', 'Scheduler', 'Transition', 'Score', 'score',
    'TextdiffError', 'Status', 'check', 'status_string', 'version', 'version_number', 'isa', 'isa_supported',
    'library_path', 'isa_active', 'isa_to_string', 'isa_self_check', 'rng_uniform',
    'philox4x32', 'param_bounds', 'strategy_name', 'remasking_name',
    'transfer_llada', 'transfer_dream', 'transfer_dream_timesteps', 'transfer_maskgit', 'transfer_mask_predict',
    'noise_mask', 'noise_uniform', 'noise_per_token', 'gauss_noise', 'gauss_posterior_coefs', 'gauss_posterior_mean',
    'gauss_ddpm_step', 'gauss_ddim_step', 'embed_nearest', 'nelbo', 'nelbo_denoiser', 'd3pm_loss', 'ar_nll',
    'Attention', 'CacheMode', 'Compat', 'DenoiserParam', 'GenState', 'Isa', 'MetaType', 'ModelParam', 'NelboMethod',
    'Quantity', 'Remasking', 'SamplerParam', 'ScheduleKind', 'SchedulerParam', 'SoftMaskParam', 'Special', 'Strategy',
    'TokenizerKind', 'TransitionKind',
]
