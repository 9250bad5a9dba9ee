"""_util.py -- numpy <-> ctypes plumbing shared by the classes: contiguous typed arrays,
their data pointers, enum lookups by name, the library's parameter names and bounds
(tdiff_<object>_param_name / _from_name / _bounds), and the "caller buffer with a
capacity, retry with the needed size" calling convention of the library.
"""
import ctypes
import warnings

import numpy as np

from ._errors import Status, check
from ._ffi import C

# Bytes of the err buffer creators fill (reason: messages name a field and a byte offset; 1 KiB is ample).
ERR_CAP = 1024


def ids_array(ids, name='tokens'):
    """A C-contiguous int32 copy-or-view of a sequence of token ids (1-D)."""
    a = np.ascontiguousarray(np.asarray(ids, dtype=np.int64))
    if a.ndim != 1:
        raise ValueError('%s must be a 1-D sequence of token ids' % name)
    if a.size and (a.min() < -2**31 or a.max() >= 2**31):
        raise ValueError('%s: ids must fit in int32' % name)
    return np.ascontiguousarray(a, dtype=np.int32)


def f32_array(x, name='array'):
    return np.ascontiguousarray(np.asarray(x, dtype=np.float32))


def ptr(a, ctype):
    """Pointer to a numpy array's data as POINTER(ctype); None for None (C NULL)."""
    if a is None:
        return None
    return a.ctypes.data_as(ctypes.POINTER(ctype))


def enum_value(enum_cls, value, what):
    """An IntEnum member from a member, an int, or a case-insensitive name."""
    if isinstance(value, str):
        try:
            return enum_cls[value.upper()]
        except KeyError:
            names = ', '.join(m.name.lower() for m in enum_cls)
            raise ValueError('unknown %s %r (one of: %s)' % (what, value, names)) from None
    return enum_cls(int(value))


def param_name(function, enum_cls, param, what):
    """The library's snake_case name of a parameter (function: tdiff_<object>_param_name)."""
    return getattr(C, function)(int(enum_value(enum_cls, param, what))).decode()


def param_from_name(function, enum_cls, name):
    """The enum member the library names `name` (exact spelling); TextdiffError NOT_FOUND."""
    v = ctypes.c_int()
    check(getattr(C, function)(name.encode('utf-8'), ctypes.byref(v)), function, 'no parameter named %r' % name)
    return enum_cls(v.value)


def param_bounds(function, enum_cls, param, what):
    """(min, max, default) of a settable parameter; TextdiffError INVALID_ARGUMENT for a
    read-only one."""
    p = enum_value(enum_cls, param, what)
    lo, hi, default = ctypes.c_double(), ctypes.c_double(), ctypes.c_double()
    check(getattr(C, function)(p, ctypes.byref(lo), ctypes.byref(hi), ctypes.byref(default)), function,
          '%s is read-only or unknown' % p.name.lower())
    return lo.value, hi.value, default.value


def deprecated(old, new):
    """Warns that `old` is the 0.1 name of `new` (kept for one release)."""
    warnings.warn('%s is deprecated: use %s (removed after 0.2)' % (old, new), DeprecationWarning, stacklevel=3)


def read_bytes(call, function, message=None, first_cap=256):
    """Calls call(buf, cap, needed_ptr) -> status, growing buf on BUFFER_TOO_SMALL;
    returns the bytes written (needed counts the bytes, or bytes + 1 with a NUL)."""
    cap = first_cap
    for _ in range(4):  # the needed size is exact, so one retry suffices; extra ones guard a racing change
        buf = ctypes.create_string_buffer(max(cap, 1))
        needed = ctypes.c_size_t(0)
        st = call(buf, cap, ctypes.byref(needed))
        if st == Status.BUFFER_TOO_SMALL and needed.value > cap:
            cap = needed.value
            continue
        check(st, function, message)
        return buf.raw[:needed.value]
    check(st, function, message)
    return b''
