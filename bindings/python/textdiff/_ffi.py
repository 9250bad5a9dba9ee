"""_ffi.py -- finds libtextdiff and declares the ctypes prototype of every public
function (restype + argtypes), from one table that mirrors include/libtextdiff.h.

Only declared functions are reachable: the rest of the package calls the C library
through `C`, whose attributes are exactly the declared functions, so nothing is ever
called with ctypes' guessed (int) types. A function the table names but the loaded
library lacks (an older libtextdiff) is simply absent from `C`.

Library lookup order: $TEXTDIFF_LIB (a path; failing to load it is an error, not a
reason to try something else), the copy `pip install` put in the package
(textdiff/libtextdiff.so.0), the installed SONAME libtextdiff.so.0 (dynamic linker
search path, then ctypes.util.find_library), then the build tree build/lib/ of the
repository this file sits in.
"""
import ctypes
import ctypes.util
import os
from ctypes import (POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int, c_int32, c_int64, c_size_t,
                    c_uint, c_uint8, c_uint32, c_uint64, c_void_p)

SONAME = 'libtextdiff.so.0'

# ---------------------------------------------------------------- C types

handle = c_void_p                 # every opaque tdiff_* handle
handle_out = POINTER(c_void_p)    # tdiff_x **out
enum = c_int                      # every enum is int-sized (values fit in int)
char_buf = POINTER(c_char)        # char *buf: a caller buffer the library writes
size_p = POINTER(c_size_t)
i32_p = POINTER(c_int32)
u32_p = POINTER(c_uint32)
i64_p = POINTER(c_int64)
u8_p = POINTER(c_uint8)
u64_p = POINTER(c_uint64)
f32_p = POINTER(c_float)
f64_p = POINTER(c_double)
int_p = POINTER(c_int)

# typedef int (*tdiff_step_fn)(void *ud, size_t step, size_t n_steps, const int32_t *canvas,
#                              size_t n_canvas, const float *confidence);
STEP_FN = ctypes.CFUNCTYPE(c_int, c_void_p, c_size_t, c_size_t, i32_p, c_size_t, f32_p)
# typedef tdiff_status (*tdiff_denoise_fn)(void *ud, const int32_t *tokens, size_t n, float t, float *logits);
DENOISE_FN = ctypes.CFUNCTYPE(c_int, c_void_p, i32_p, c_size_t, c_float, f32_p)
# int (*logits)(void *ud, const int32_t *tokens, size_t n, float t, const uint32_t *positions,
#               size_t n_positions, float *logits);
LOGITS_FN = ctypes.CFUNCTYPE(c_int, c_void_p, i32_p, c_size_t, c_float, u32_p, c_size_t, f32_p)
DESTROY_FN = ctypes.CFUNCTYPE(None, c_void_p)


class QuantizeTensor(Structure):
    """tdiff_quantize_tensor: what tdiff_model_quantize reports after each tensor."""
    _fields_ = [('index', c_size_t), ('count', c_size_t), ('name', c_char_p), ('type_in', c_int),
                ('type_out', c_int), ('bytes_in', c_uint64), ('bytes_out', c_uint64)]


# typedef int (*tdiff_quantize_fn)(void *user_data, const tdiff_quantize_tensor *t);
QUANTIZE_FN = ctypes.CFUNCTYPE(c_int, c_void_p, POINTER(QuantizeTensor))

# typedef void (*tdiff_log_fn)(void *user_data, tdiff_log_level level, const char *msg);
LOG_FN = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_char_p)


class Host(Structure):
    """tdiff_host: allocator (left NULL = the C library's malloc) and logging hooks."""
    _fields_ = [('struct_size', c_size_t), ('malloc_fn', c_void_p), ('realloc_fn', c_void_p), ('free_fn', c_void_p),
                ('alloc_user_data', c_void_p), ('log_fn', LOG_FN), ('log_user_data', c_void_p),
                ('log_level', c_int), ('isa', c_int), ('ignore_env', c_int)]


host = POINTER(Host)              # const tdiff_host * (see _host.py: the binding's one host)


class TokenStream(Structure):
    """tdiff_token_stream: caller-owned plain data (fields private to the library)."""
    _fields_ = [('pending', c_uint8 * 4), ('n_pending', c_uint32), ('n_emitted', c_uint64)]


class ChatMessage(Structure):
    """tdiff_chat_message: a role and its content (NUL-terminated UTF-8)."""
    _fields_ = [('role', c_char_p), ('content', c_char_p)]


class DenoiseCallbacks(Structure):
    """tdiff_denoise_callbacks (struct_size first, so the library can tell versions apart)."""
    _fields_ = [('struct_size', c_size_t), ('user_data', c_void_p), ('logits', LOGITS_FN),
                ('destroy', DESTROY_FN)]


S = c_int  # tdiff_status

# name: (restype, [argtypes]) -- in header order, one line per function.
PROTOTYPES = {
    # version, status, ISA, RNG
    'tdiff_version_number': (c_uint, []),
    'tdiff_version_string': (c_char_p, []),
    'tdiff_status_string': (c_char_p, [c_int]),
    'tdiff_isa_active': (S, [int_p]),
    'tdiff_isa_name': (c_char_p, []),
    'tdiff_isa_to_string': (c_char_p, [c_int]),
    'tdiff_isa_supported': (c_int, [c_int]),
    'tdiff_isa_cpu_features': (c_char_p, []),
    'tdiff_isa_self_check': (S, [host, int_p]),
    'tdiff_philox4x32': (None, [u32_p, u32_p, u32_p]),
    'tdiff_rng_uniform': (c_double, [c_uint64, c_uint32, c_uint32, c_uint32]),
    # model
    'tdiff_model_load_file': (S, [c_char_p, host, handle_out, char_buf, c_size_t]),
    'tdiff_model_load_memory': (S, [c_void_p, c_size_t, host, handle_out, char_buf, c_size_t]),
    'tdiff_model_free': (None, [handle]),
    'tdiff_model_architecture': (c_char_p, [handle]),
    'tdiff_model_get_int': (S, [handle, enum, i64_p]),
    'tdiff_model_get_float': (S, [handle, enum, f64_p]),
    'tdiff_model_param_name': (c_char_p, [enum]),
    'tdiff_model_param_from_name': (S, [c_char_p, int_p]),
    'tdiff_model_weight_count': (S, [handle, u64_p]),
    'tdiff_model_param_count': (S, [handle, u64_p]),  # deprecated name of tdiff_model_weight_count
    'tdiff_model_vocab_size': (S, [handle, size_p]),
    'tdiff_model_special_id': (S, [handle, enum, i32_p]),
    'tdiff_model_special_token': (S, [handle, enum, i32_p]),  # deprecated name of tdiff_model_special_id
    'tdiff_model_meta_count': (c_size_t, [handle]),
    'tdiff_model_meta_key': (S, [handle, c_size_t, char_buf, c_size_t, size_p]),
    'tdiff_model_meta_type': (S, [handle, c_char_p, int_p, int_p, size_p]),
    'tdiff_model_meta_get_u32': (S, [handle, c_char_p, u32_p]),
    'tdiff_model_meta_get_i32': (S, [handle, c_char_p, i32_p]),
    'tdiff_model_meta_get_u64': (S, [handle, c_char_p, u64_p]),
    'tdiff_model_meta_get_f32': (S, [handle, c_char_p, f32_p]),
    'tdiff_model_meta_get_bool': (S, [handle, c_char_p, int_p]),
    'tdiff_model_meta_get_str': (S, [handle, c_char_p, char_buf, c_size_t, size_p]),
    'tdiff_model_meta_get_arr_str': (S, [handle, c_char_p, c_size_t, char_buf, c_size_t, size_p]),
    'tdiff_model_meta_get_arr_i32': (S, [handle, c_char_p, c_size_t, i32_p]),
    'tdiff_model_meta_get_arr_f32': (S, [handle, c_char_p, c_size_t, f32_p]),
    'tdiff_model_tensor_count': (c_size_t, [handle]),
    'tdiff_model_tensor_info': (S, [handle, c_size_t, char_buf, c_size_t, size_p, int_p, int_p, i64_p]),
    'tdiff_model_quantize': (S, [handle, c_char_p, enum, c_int, QUANTIZE_FN, c_void_p, char_buf, c_size_t]),
    # tokenizer
    'tdiff_tokenizer_create': (S, [handle, host, handle_out, char_buf, c_size_t]),
    'tdiff_tokenizer_free': (None, [handle]),
    'tdiff_tokenizer_tokenize': (S, [handle, c_char_p, c_size_t, c_uint32, i32_p, c_size_t, size_p]),
    'tdiff_tokenizer_detokenize': (S, [handle, i32_p, c_size_t, c_uint32, char_buf, c_size_t, size_p]),
    'tdiff_tokenizer_token_piece': (S, [handle, c_int32, char_buf, c_size_t, size_p]),
    'tdiff_tokenizer_token_text': (S, [handle, c_int32, char_buf, c_size_t, size_p]),
    'tdiff_token_stream_init': (None, [POINTER(TokenStream)]),
    'tdiff_tokenizer_stream_piece': (S, [handle, POINTER(TokenStream), c_int32, c_uint32, char_buf, c_size_t,
                                         size_p]),
    'tdiff_token_stream_flush': (S, [POINTER(TokenStream), char_buf, c_size_t, size_p]),
    'tdiff_tokenizer_vocab_size': (S, [handle, size_p]),
    'tdiff_tokenizer_special_id': (S, [handle, enum, i32_p]),
    'tdiff_tokenizer_kind': (enum, [handle]),
    'tdiff_tokenizer_get_kind': (enum, [handle]),  # deprecated name of tdiff_tokenizer_kind
    'tdiff_tokenizer_is_special': (c_int, [handle, c_int32]),
    'tdiff_tokenizer_apply_chat': (S, [handle, POINTER(ChatMessage), c_size_t, c_uint32, char_buf, c_size_t, size_p]),
    'tdiff_tokenizer_chat_format': (c_char_p, [handle]),
    # denoiser
    'tdiff_denoiser_create': (S, [handle, c_size_t, c_int, host, handle_out, char_buf, c_size_t]),
    'tdiff_denoiser_free': (None, [handle]),
    'tdiff_denoiser_forward': (S, [handle, i32_p, c_size_t, u32_p, c_size_t, f32_p, c_size_t]),
    'tdiff_denoiser_forward_t': (S, [handle, i32_p, c_size_t, c_float, u32_p, c_size_t, f32_p, c_size_t]),
    'tdiff_denoiser_set_int': (S, [handle, enum, c_int64]),
    'tdiff_denoiser_get_int': (S, [handle, enum, i64_p]),
    'tdiff_denoiser_param_bounds': (S, [enum, f64_p, f64_p, f64_p]),
    'tdiff_denoiser_param_name': (c_char_p, [enum]),
    'tdiff_denoiser_param_from_name': (S, [c_char_p, int_p]),
    'tdiff_denoiser_last_error': (c_char_p, [handle]),
    'tdiff_denoiser_forward_embd': (S, [handle, i32_p, f32_p, u8_p, c_size_t, c_float, u32_p, c_size_t, f32_p,
                                        c_size_t]),
    'tdiff_denoiser_forward_mix': (S, [handle, i32_p, c_size_t, size_p, i32_p, f32_p, c_float, u32_p, c_size_t,
                                       f32_p, c_size_t]),
    # experimental (TDIFF_EXPERIMENTAL): the packed batch
    'tdiff_denoiser_forward_batch': (S, [handle, c_size_t, POINTER(i32_p), size_p, POINTER(u32_p), size_p, f32_p,
                                         c_size_t]),
    'tdiff_denoiser_reserve_batch': (S, [handle, c_size_t]),
    # soft masking
    'tdiff_softmask_create': (S, [handle, c_size_t, host, handle_out, char_buf, c_size_t]),
    'tdiff_softmask_free': (None, [handle]),
    'tdiff_softmask_set_int': (S, [handle, enum, c_int64]),
    'tdiff_softmask_get_int': (S, [handle, enum, i64_p]),
    'tdiff_softmask_set_float': (S, [handle, enum, c_double]),
    'tdiff_softmask_get_float': (S, [handle, enum, f64_p]),
    'tdiff_softmask_param_bounds': (S, [enum, f64_p, f64_p, f64_p]),
    'tdiff_softmask_param_name': (c_char_p, [enum]),
    'tdiff_softmask_param_from_name': (S, [c_char_p, int_p]),
    'tdiff_softmask_mix_position': (S, [handle, f32_p, c_int32, i32_p, f32_p, c_size_t, size_p, f32_p]),
    'tdiff_softmask_build': (S, [handle, i32_p, c_size_t, c_int32, f32_p, u32_p, c_size_t, size_p, i32_p, f32_p,
                                 c_size_t, size_p, f32_p]),
    'tdiff_softmask_last_error': (c_char_p, [handle]),
    # scheduler, transfer schedules, noise
    'tdiff_scheduler_create': (S, [enum, host, handle_out, char_buf, c_size_t]),
    'tdiff_scheduler_free': (None, [handle]),
    'tdiff_scheduler_kind': (enum, [handle]),
    'tdiff_scheduler_last_error': (c_char_p, [handle]),
    'tdiff_scheduler_set_float': (S, [handle, enum, c_double]),
    'tdiff_scheduler_get_float': (S, [handle, enum, f64_p]),
    'tdiff_scheduler_param_bounds': (S, [enum, f64_p, f64_p, f64_p]),
    'tdiff_scheduler_param_name': (c_char_p, [enum]),
    'tdiff_scheduler_param_from_name': (S, [c_char_p, int_p]),
    'tdiff_scheduler_eval': (S, [handle, enum, c_double, f64_p]),
    'tdiff_scheduler_eval_step': (S, [handle, enum, c_size_t, c_size_t, f64_p]),
    'tdiff_scheduler_set_token_counts': (S, [handle, f32_p, c_size_t]),
    'tdiff_scheduler_spindle_keep': (S, [handle, i32_p, c_size_t, c_double, f32_p]),
    'tdiff_transfer_llada': (S, [c_size_t, c_size_t, size_p, c_size_t, size_p]),
    'tdiff_transfer_dream_timesteps': (S, [c_size_t, c_double, f32_p, c_size_t, size_p]),
    'tdiff_transfer_dream': (S, [c_size_t, c_size_t, c_size_t, c_double, size_p]),
    'tdiff_transfer_maskgit': (S, [c_size_t, c_size_t, c_size_t, c_size_t, size_p]),
    'tdiff_transfer_mask_predict': (S, [c_size_t, c_size_t, c_size_t, size_p]),
    'tdiff_noise_mask': (S, [i32_p, i32_p, c_size_t, c_double, c_int32, c_uint64, c_uint32, c_uint32]),
    'tdiff_noise_uniform': (S, [i32_p, i32_p, c_size_t, c_double, c_size_t, c_uint64, c_uint32, c_uint32]),
    'tdiff_noise_per_token': (S, [i32_p, i32_p, c_size_t, f32_p, c_int32, c_uint64, c_uint32, c_uint32]),
    # transitions (stable part)
    'tdiff_transition_create': (S, [enum, c_size_t, c_int32, handle, c_size_t, host, handle_out, char_buf, c_size_t]),
    'tdiff_transition_free': (None, [handle]),
    'tdiff_transition_last_error': (c_char_p, [handle]),
    'tdiff_transition_n_vocab': (c_size_t, [handle]),
    'tdiff_transition_n_steps': (c_size_t, [handle]),
    # experimental (TDIFF_EXPERIMENTAL): Gaussian helpers, transition internals, SEDD steps
    'tdiff_gauss_noise': (S, [f32_p, f32_p, c_size_t, c_double, c_uint64, c_uint32, f32_p]),
    'tdiff_gauss_posterior_coefs': (S, [c_double, c_double, f64_p, f64_p, f64_p]),
    'tdiff_gauss_posterior_mean': (S, [f32_p, f32_p, f32_p, c_size_t, c_double, c_double, f64_p]),
    'tdiff_gauss_ddpm_step': (S, [f32_p, f32_p, f32_p, c_size_t, c_double, c_double, c_uint64, c_uint32]),
    'tdiff_gauss_ddim_step': (S, [f32_p, f32_p, f32_p, c_size_t, c_double, c_double, c_double, c_uint64, c_uint32]),
    'tdiff_embed_nearest': (S, [host, f32_p, c_size_t, c_size_t, f32_p, c_size_t, i32_p, f32_p]),
    'tdiff_transition_create_user': (S, [enum, c_size_t, c_size_t, c_size_t, f32_p, c_size_t, c_double, host,
                                         handle_out, char_buf, c_size_t]),
    'tdiff_transition_apply': (S, [handle, c_size_t, c_int, f32_p, c_size_t, f32_p]),
    'tdiff_transition_rows': (S, [handle, c_size_t, c_int, i32_p, c_size_t, f32_p]),
    'tdiff_transition_matrix': (S, [handle, c_size_t, c_int, f64_p, c_size_t, size_p]),
    'tdiff_transition_posterior': (S, [handle, c_size_t, i32_p, f32_p, c_size_t, f32_p]),
    'tdiff_transition_sedd_euler': (S, [handle, i32_p, f32_p, c_size_t, c_double, f32_p]),
    'tdiff_transition_sedd_analytic': (S, [handle, i32_p, f32_p, c_size_t, c_double, c_int, f32_p]),
    # experimental: training objectives (and their deprecated 0.1 names)
    'tdiff_objective_nelbo': (S, [handle, DENOISE_FN, c_void_p, i32_p, c_size_t, c_size_t, c_int32, enum, c_size_t,
                                  c_uint64, f64_p, f64_p, f64_p, char_buf, c_size_t]),
    'tdiff_objective_nelbo_denoiser': (S, [handle, handle, i32_p, c_size_t, c_int32, enum, c_size_t, c_uint64,
                                           f64_p, f64_p, f64_p, char_buf, c_size_t]),
    'tdiff_objective_d3pm_loss': (S, [handle, DENOISE_FN, c_void_p, i32_p, c_size_t, c_size_t, c_uint64, f64_p,
                                      f64_p, f64_p, char_buf, c_size_t]),
    'tdiff_objective_ar_nll': (S, [handle, i32_p, c_size_t, c_size_t, f64_p, f64_p, char_buf, c_size_t]),
    'tdiff_scheduler_nelbo': (S, [handle, DENOISE_FN, c_void_p, i32_p, c_size_t, c_size_t, c_int32, enum,
                                  c_size_t, c_uint64, f64_p, f64_p, f64_p]),
    'tdiff_scheduler_nelbo_denoiser': (S, [handle, handle, i32_p, c_size_t, c_int32, enum, c_size_t, c_uint64,
                                           f64_p, f64_p, f64_p]),
    'tdiff_transition_d3pm_loss': (S, [handle, DENOISE_FN, c_void_p, i32_p, c_size_t, c_size_t, c_uint64,
                                       f64_p, f64_p, f64_p]),
    # sampler
    'tdiff_sampler_create': (S, [handle, host, handle_out, char_buf, c_size_t]),
    'tdiff_sampler_create_with_callback': (S, [POINTER(DenoiseCallbacks), c_int32, c_int32, c_int32, host,
                                               handle_out, char_buf, c_size_t]),
    'tdiff_sampler_free': (None, [handle]),
    'tdiff_sampler_last_error': (c_char_p, [handle]),
    'tdiff_sampler_set_int': (S, [handle, enum, c_int64]),
    'tdiff_sampler_set_float': (S, [handle, enum, c_double]),
    'tdiff_sampler_get_int': (S, [handle, enum, i64_p]),
    'tdiff_sampler_get_float': (S, [handle, enum, f64_p]),
    'tdiff_sampler_param_bounds': (S, [enum, f64_p, f64_p, f64_p]),
    'tdiff_sampler_param_name': (c_char_p, [enum]),
    'tdiff_sampler_param_from_name': (S, [c_char_p, POINTER(c_int)]),
    'tdiff_sampler_param_is_int': (c_int, [enum]),
    'tdiff_strategy_from_name': (S, [c_char_p, int_p]),
    'tdiff_remasking_from_name': (S, [c_char_p, int_p]),
    'tdiff_strategy_name': (c_char_p, [c_int]),
    'tdiff_remasking_name': (c_char_p, [c_int]),
    'tdiff_sampler_set_banned': (S, [handle, i32_p, c_size_t]),
    'tdiff_sampler_set_callback': (S, [handle, STEP_FN, c_void_p]),
    'tdiff_sampler_generate': (S, [handle, i32_p, c_size_t, i32_p, c_size_t, size_p]),
    'tdiff_sampler_infill': (S, [handle, i32_p, c_size_t, i32_p, c_size_t, size_p]),
    'tdiff_sampler_history': (S, [handle, POINTER(i32_p), size_p, size_p]),
    'tdiff_sampler_set_transition': (S, [handle, handle]),
    'tdiff_sampler_set_softmask': (S, [handle, handle]),
    'tdiff_sampler_set_scheduler': (S, [handle, handle]),
    # incremental generation
    'tdiff_sampler_begin': (S, [handle, i32_p, c_size_t]),
    'tdiff_sampler_begin_infill': (S, [handle, i32_p, c_size_t]),
    'tdiff_sampler_step': (S, [handle, int_p]),
    'tdiff_sampler_step_for': (S, [handle, c_uint64, size_p, int_p]),
    'tdiff_sampler_canvas': (S, [handle, i32_p, f32_p, u8_p, c_size_t, size_p]),
    'tdiff_sampler_progress': (S, [handle, int_p, size_p, size_p]),
    'tdiff_sampler_cancel': (S, [handle]),
    'tdiff_sampler_result': (S, [handle, i32_p, c_size_t, size_p]),
    'tdiff_sampler_interrupt': (None, [handle]),
}


# ---------------------------------------------------------------- lookup

def _repo_build_lib():
    """build/lib/libtextdiff.so of the repository holding this file (bindings/python/textdiff/)."""
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.join(here, os.pardir, os.pardir, os.pardir, 'build', 'lib', 'libtextdiff.so')


def _bundled():
    """The library setup.py copied into the installed package, if any."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), SONAME)


def _load():
    env = os.environ.get('TEXTDIFF_LIB')
    if env:
        try:
            return ctypes.CDLL(env), env
        except OSError as e:
            raise OSError('TEXTDIFF_LIB=%s cannot be loaded: %s' % (env, e)) from e
    tried = []
    candidates = [_bundled()] if os.path.isfile(_bundled()) else []
    candidates.append(SONAME)
    found = ctypes.util.find_library('textdiff')
    if found:
        candidates.append(found)
    candidates.append(os.path.normpath(_repo_build_lib()))
    for name in candidates:
        try:
            return ctypes.CDLL(name), name
        except OSError as e:
            tried.append('%s (%s)' % (name, e))
    raise OSError('libtextdiff not found: build it (meson compile -C build) and reinstall the package, install '
                  'it (meson install), or set TEXTDIFF_LIB to its path. Tried: ' + '; '.join(tried))


class _Functions:
    """The declared functions of the loaded library, as attributes."""

    def __init__(self, lib):
        self.declared = []
        self.missing = []
        for name, (restype, argtypes) in PROTOTYPES.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                self.missing.append(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
            self.declared.append(name)

    def __getattr__(self, name):  # only reached for names not set above
        if name in PROTOTYPES:
            raise AttributeError('%s: the loaded libtextdiff (%s) does not export it (an older library?)'
                                 % (name, lib_path))
        raise AttributeError('%s is not a declared libtextdiff function' % name)


lib, lib_path = _load()
C = _Functions(lib)


def has(name):
    """True when the loaded library exports (and the binding declares) `name`."""
    return hasattr(C, name)
