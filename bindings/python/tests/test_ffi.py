"""test_ffi.py -- the binding declares a correct ctypes prototype for every public
function, its enums carry the header's numbers, and the library is found in the
documented order (TEXTDIFF_LIB, SONAME, build tree)."""
import ctypes
import functools
import os
import re
import shutil
import subprocess
import sys

import pytest

import textdiff
from textdiff import _ffi, constants

from conftest import REPO

HEADER = os.path.join(REPO, 'include', 'libtextdiff.h')


def header_text():
    with open(HEADER) as f:
        return f.read()


@functools.lru_cache(maxsize=None)
def exported_symbols():
    """tdiff_* functions the loaded .so exports (nm -D --defined-only)."""
    out = subprocess.run(['nm', '-D', '--defined-only', _ffi.lib._name], capture_output=True, text=True, check=True)
    syms = set()
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in 'TW' and parts[2].startswith('tdiff_'):
            syms.add(parts[2].split('@')[0])
    return frozenset(syms)


def header_declarations():
    """{name: (return type, [parameter types])} of every TDIFF_API function in the header."""
    src = header_text()
    src = re.sub(r'/\*.*?\*/', ' ', src, flags=re.S)
    src = re.sub(r'^\s*#.*?(?<!\\)$', ' ', src, flags=re.M | re.S)  # preprocessor lines
    decls = {}
    for m in re.finditer(r'TDIFF_API\s+([^;(]*?)\b(tdiff_\w+)\s*\(([^;]*?)\)\s*;', src, flags=re.S):
        ret = ' '.join(m.group(1).split())
        params = [] if m.group(3).strip() in ('', 'void') else [' '.join(p.split()) for p in m.group(3).split(',')]
        decls[m.group(2)] = (ret, params)
    return decls


def param_type(p):
    """'const int32_t *tokens' -> 'const int32_t *'; 'int64_t out_ne[4]' -> 'int64_t *'."""
    p = re.sub(r'\[\d*\]$', '*', p.replace(' [', '['))
    if p.endswith('*'):  # an array parameter, already a pointer
        base = re.sub(r'\s*\w+\s*\*$', '', p)
        return base + ' *'
    m = re.match(r'^(.*?)([\s*]+)(\w+)$', p)
    return (m.group(1) + m.group(2)).strip().replace(' *', ' *') if m else p


SCALARS = {
    'int': ctypes.c_int, 'unsigned': ctypes.c_uint, 'size_t': ctypes.c_size_t, 'double': ctypes.c_double,
    'float': ctypes.c_float, 'int32_t': ctypes.c_int32, 'uint32_t': ctypes.c_uint32, 'int64_t': ctypes.c_int64,
    'uint64_t': ctypes.c_uint64, 'uint8_t': ctypes.c_uint8, 'char': ctypes.c_char,
}
STRUCTS = {'tdiff_token_stream': _ffi.TokenStream, 'tdiff_denoise_callbacks': _ffi.DenoiseCallbacks,
           'tdiff_host': _ffi.Host, 'tdiff_chat_message': _ffi.ChatMessage,
           'tdiff_quantize_tensor': _ffi.QuantizeTensor}
CALLBACKS = {'tdiff_step_fn': _ffi.STEP_FN, 'tdiff_denoise_fn': _ffi.DENOISE_FN, 'tdiff_quantize_fn': _ffi.QUANTIZE_FN}
HANDLES = {'tdiff_model', 'tdiff_tokenizer', 'tdiff_denoiser', 'tdiff_scheduler', 'tdiff_transition',
           'tdiff_sampler', 'tdiff_softmask'}


def expected_ctype(ctype, is_return=False):
    """The ctypes type a C type must be declared as (the binding's conventions)."""
    t = ctype.replace('const ', '').replace('enum ', '').strip()
    stars = t.count('*')
    base = t.replace('*', '').strip()
    if stars == 0:
        if base == 'void':
            return None
        if base in SCALARS:
            return SCALARS[base]
        if base in CALLBACKS:
            return CALLBACKS[base]
        if base.startswith('tdiff_'):  # an enum passed or returned by value
            return ctypes.c_int
        raise AssertionError('unmapped C type %r' % ctype)
    if base in HANDLES:
        return ctypes.c_void_p if stars == 1 else ctypes.POINTER(ctypes.c_void_p)
    if base == 'void':
        return ctypes.c_void_p
    if base == 'char' and stars == 1:
        # const char * in: a NUL-terminated string; char * out: a caller buffer; returned: a string
        return ctypes.c_char_p if ('const' in ctype or is_return) else ctypes.POINTER(ctypes.c_char)
    if base in STRUCTS:
        return ctypes.POINTER(STRUCTS[base])
    if base in SCALARS:
        inner = SCALARS[base]
    elif base.startswith('tdiff_'):  # pointer to an enum out-value
        inner = ctypes.c_int
    else:
        raise AssertionError('unmapped C type %r' % ctype)
    for _ in range(stars):
        inner = ctypes.POINTER(inner)
    return inner


def test_every_exported_function_has_a_declared_prototype():
    undeclared = sorted(exported_symbols() - set(_ffi.PROTOTYPES))
    assert not undeclared, 'exported by the library but not declared in textdiff/_ffi.py: %s' % undeclared


def test_every_declared_function_is_reachable_with_its_prototype():
    for name in _ffi.C.declared:
        fn = getattr(_ffi.C, name)
        restype, argtypes = _ffi.PROTOTYPES[name]
        assert fn.restype is restype and list(fn.argtypes) == argtypes, name
    # what is not declared is not reachable through C (no untyped call is possible)
    assert not hasattr(_ffi.C, 'tdiff__env_init')


def test_header_parser_sees_the_whole_header():
    decls = header_declarations()
    assert 'tdiff_version_number' in decls and 'tdiff_sampler_generate' in decls
    assert decls['tdiff_sampler_generate'][1][0] == 'tdiff_sampler *s'
    assert len(decls) >= len(exported_symbols()) - 2  # guard against a parser that silently finds little


def test_every_prototype_matches_the_header():
    decls = header_declarations()
    exported = exported_symbols()
    problems = []
    for name, (ret, params) in decls.items():
        if name not in exported or name not in _ffi.PROTOTYPES:  # the latter: reported by the test above
            continue
        restype, argtypes = _ffi.PROTOTYPES[name]
        want_ret = expected_ctype(ret, is_return=True)
        if restype is not want_ret:
            problems.append('%s returns %s, declared %s' % (name, ret, restype))
        want = [expected_ctype(param_type(p)) for p in params]
        if len(want) != len(argtypes):
            problems.append('%s has %d parameters, declared %d' % (name, len(want), len(argtypes)))
            continue
        for i, (w, a) in enumerate(zip(want, argtypes)):
            if w is not a:
                problems.append('%s parameter %d (%s): expected %s, declared %s' % (name, i, params[i], w, a))
    assert not problems, '\n'.join(problems)


def test_callback_prototypes_match_the_header_typedefs():
    src = header_text()
    step = re.search(r'typedef int \(\*tdiff_step_fn\)\(([^;]*)\);', src, flags=re.S).group(1)
    den = re.search(r'typedef tdiff_status \(\*tdiff_denoise_fn\)\(([^;]*)\);', src, flags=re.S).group(1)
    den = re.sub(r'/\*.*?\*/', '', den)
    log = re.search(r'typedef void \(\*tdiff_log_fn\)\(([^;]*)\);', src, flags=re.S).group(1)
    for text, fn, ret in ((step, _ffi.STEP_FN, ctypes.c_int), (den, _ffi.DENOISE_FN, ctypes.c_int),
                          (log, _ffi.LOG_FN, None)):
        params = [param_type(' '.join(p.split())) for p in text.split(',')]
        assert list(fn._argtypes_) == [expected_ctype(p) for p in params]
        assert fn._restype_ is ret


def test_struct_layouts_match_the_header():
    """Field names and order of tdiff_host, tdiff_token_stream, tdiff_denoise_callbacks,
    tdiff_chat_message, tdiff_quantize_tensor."""
    src = header_text()
    for cname, cls in (('tdiff_host', _ffi.Host), ('tdiff_token_stream', _ffi.TokenStream),
                       ('tdiff_denoise_callbacks', _ffi.DenoiseCallbacks), ('tdiff_chat_message', _ffi.ChatMessage),
                       ('tdiff_quantize_tensor', _ffi.QuantizeTensor)):
        body = re.search(r'typedef struct %s \{(.*?)\} %s;' % (cname, cname), src, flags=re.S).group(1)
        body = re.sub(r'/\*.*?\*/', ' ', body, flags=re.S)
        names = []
        for decl in body.split(';'):
            decl = ' '.join(decl.split())
            if not decl:
                continue
            m = re.search(r'\(\*(\w+)\)', decl) or re.search(r'(\w+)\s*(\[\d+\])?$', decl)
            names.append(m.group(1))
        assert [f[0] for f in cls._fields_] == names, cname
    assert ctypes.sizeof(_ffi.Host) == 9 * 8 and ctypes.sizeof(_ffi.TokenStream) == 16  # LP64 sizes
    assert ctypes.sizeof(_ffi.QuantizeTensor) == 6 * 8


ENUMS = {
    'TDIFF_ISA_': constants.Isa, 'TDIFF_MODEL_': constants.ModelParam, 'TDIFF_SPECIAL_': constants.Special,
    'TDIFF_META_': constants.MetaType, 'TDIFF_TOKENIZER_': constants.TokenizerKind,
    'TDIFF_ATTENTION_': constants.Attention, 'TDIFF_DENOISER_': constants.DenoiserParam,
    'TDIFF_SCHEDULE_': constants.ScheduleKind, 'TDIFF_SCHEDULER_': constants.SchedulerParam,
    'TDIFF_SQ_': constants.Quantity, 'TDIFF_NELBO_': constants.NelboMethod,
    'TDIFF_TRANSITION_': constants.TransitionKind, 'TDIFF_STRATEGY_': constants.Strategy,
    'TDIFF_REMASK_': constants.Remasking, 'TDIFF_COMPAT_': constants.Compat,
    'TDIFF_SAMPLER_': constants.SamplerParam, 'TDIFF_SOFTMASK_': constants.SoftMaskParam, 'TDIFF_': textdiff.Status,
}


def test_enums_carry_the_header_numbers():
    src = re.sub(r'/\*.*?\*/', ' ', header_text(), flags=re.S)
    values = dict((m.group(1), int(m.group(2))) for m in re.finditer(r'\b(TDIFF_\w+)\s*=\s*(-?\d+)', src))
    checked = 0
    for prefix, cls in ENUMS.items():
        for member in cls:
            cname = prefix + ('E_' + member.name if cls is textdiff.Status and member.name != 'OK' else member.name)
            assert cname in values, '%s.%s: no %s in the header' % (cls.__name__, member.name, cname)
            assert values[cname] == member.value, cname
            checked += 1
    assert checked > 100
    # and the flags
    for name, val in (('TDIFF_TOKENIZE_ADD_SPECIAL', constants.TOKENIZE_ADD_SPECIAL),
                      ('TDIFF_TOKENIZE_PARSE_SPECIAL', constants.TOKENIZE_PARSE_SPECIAL),
                      ('TDIFF_DETOKENIZE_RENDER_SPECIAL', constants.DETOKENIZE_RENDER_SPECIAL)):
        assert re.search(r'#define %s %du' % (name, val), header_text()), name


def test_version_and_isa_match_the_tool(tool):
    out = tool('version').stdout.decode()
    assert textdiff.version() in out
    assert textdiff.version_number() == 100 * int(textdiff.version().split('.')[1]) + \
        10000 * int(textdiff.version().split('.')[0]) + int(textdiff.version().split('.')[2])
    assert textdiff.isa() in ('scalar', 'avx2', 'avx512', 'neon')
    assert textdiff.isa() in out
    assert textdiff.isa_supported('scalar')


def test_rng_is_the_library_philox():
    # Random123's known-answer vector for Philox4x32-10 with all-zero counter and key
    assert textdiff.philox4x32([0, 0, 0, 0], [0, 0]) == [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    u = textdiff.rng_uniform(1, 2, 3, 4)
    assert 0.0 < u < 1.0 and u == textdiff.rng_uniform(1, 2, 3, 4)


def _run_python(code, env, cwd):
    r = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env, cwd=cwd, timeout=60)
    return r


def test_lookup_honours_TEXTDIFF_LIB_and_fails_loudly_when_it_is_wrong(tmp_path):
    env = dict(os.environ, TEXTDIFF_LIB=str(tmp_path / 'nope.so'), PYTHONPATH=os.path.join(REPO, 'bindings', 'python'))
    r = _run_python('import textdiff', env, str(tmp_path))
    assert r.returncode != 0 and 'TEXTDIFF_LIB=' in r.stderr and 'nope.so' in r.stderr
    env['TEXTDIFF_LIB'] = _ffi.lib._name
    r = _run_python('import textdiff; print(textdiff.library_path())', env, str(tmp_path))
    assert r.returncode == 0 and r.stdout.strip() == _ffi.lib._name


def test_lookup_finds_the_soname_then_the_build_tree(tmp_path):
    libdir = os.path.dirname(os.path.realpath(_ffi.lib._name))
    soname = os.path.join(libdir, _ffi.SONAME)
    if not os.path.exists(soname):
        pytest.fail('%s missing next to the library under test' % soname)
    # a copy of the package inside a fake repository whose build/lib holds the library
    fake = tmp_path / 'repo'
    shutil.copytree(os.path.join(REPO, 'bindings', 'python', 'textdiff'), fake / 'bindings' / 'python' / 'textdiff')
    (fake / 'build' / 'lib').mkdir(parents=True)
    os.symlink(os.path.realpath(_ffi.lib._name), fake / 'build' / 'lib' / 'libtextdiff.so')
    env = {k: v for k, v in os.environ.items() if k not in ('TEXTDIFF_LIB', 'LD_LIBRARY_PATH')}
    env['PYTHONPATH'] = str(fake / 'bindings' / 'python')
    code = 'import textdiff; print(textdiff.library_path()); print(textdiff.version())'
    installed = _run_python('import ctypes; ctypes.CDLL("%s")' % _ffi.SONAME, env, str(tmp_path)).returncode == 0
    r = _run_python(code, env, str(tmp_path))
    assert r.returncode == 0, r.stderr
    first = r.stdout.split()[0]
    if installed:  # an installed libtextdiff.so.0 comes before the build tree
        assert first == _ffi.SONAME
    else:
        assert first.endswith(os.path.join('build', 'lib', 'libtextdiff.so'))
    # the SONAME through the dynamic linker's search path wins over the build tree
    env['LD_LIBRARY_PATH'] = libdir
    r = _run_python(code, env, str(tmp_path))
    assert r.returncode == 0 and r.stdout.split()[0] == _ffi.SONAME, r.stderr


def test_isa_queries():
    active = textdiff.isa_active()
    assert textdiff.isa_to_string(active) == textdiff.isa()
    assert textdiff.isa_self_check() == active  # every kernel agrees with the scalar reference
    assert textdiff.isa_to_string(99) == 'unknown'
    env = dict(os.environ, TDIFF_FORCE_ISA='scalar', PYTHONPATH=os.path.join(REPO, 'bindings', 'python'),
               TEXTDIFF_LIB=_ffi.lib._name)
    r = _run_python('import textdiff; print(textdiff.isa(), int(textdiff.isa_active()))', env, REPO)
    assert r.returncode == 0 and r.stdout.split() == ['scalar', '1'], r.stderr
    # a value that names no variant is ignored: the environment cannot switch the library off
    env['TDIFF_FORCE_ISA'] = 'bogus'
    r = _run_python('import textdiff; print(textdiff.isa())', env, REPO)
    assert r.returncode == 0 and r.stdout.split() == [textdiff.isa()], r.stderr
    assert isinstance(textdiff.cpu_features(), str)


def test_every_declared_name_is_a_header_function():
    stale = sorted(set(_ffi.PROTOTYPES) - set(header_declarations()))
    assert not stale, 'declared in textdiff/_ffi.py but not in include/libtextdiff.h: %s' % stale


def test_library_messages_reach_python_logging(caplog, model_path):
    import logging
    with caplog.at_level(logging.DEBUG, logger='textdiff'):
        with textdiff.Model(model_path) as m:
            s = m.sampler()
            with pytest.raises(textdiff.TextdiffError) as e:
                s.set(steps=0)
    assert e.value.message and any(e.value.message in r.getMessage() for r in caplog.records)
