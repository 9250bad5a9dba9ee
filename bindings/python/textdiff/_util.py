"""_util.py -- numpy <-> ctypes plumbing shared by the classes: contiguous typed arrays,
their data pointers, enum lookups by name, and the "caller buffer with a capacity, retry
with the needed size" calling convention of the library.
"""
import ctypes

import numpy as np

from ._errors import Status, check

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
