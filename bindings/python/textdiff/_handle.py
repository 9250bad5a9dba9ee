"""_handle.py -- the lifetime every wrapper class shares: one library handle owned by a
Python object, freed by close() (idempotent), by `with`, or at garbage collection.
Subclasses name their C free / last-error functions and may free dependents first.
"""
from . import _ffi


class Handle:
    _what = 'handle'     # used in "the <what> is closed"
    _free_fn = None      # name of the tdiff_*_free function
    _error_fn = None     # name of the tdiff_*_last_error function, if the handle keeps one
    _h = None

    @property
    def handle(self):
        if self._h is None:
            raise ValueError('the %s is closed' % self._what)
        return self._h

    @property
    def closed(self):
        return self._h is None

    def _before_free(self):
        """Hook: close what depends on this handle (runs only while it is open)."""

    def _after_free(self):
        """Hook: drop what the library may have used until now (runs on every close)."""

    def close(self):
        if self._h is not None:
            self._before_free()
            getattr(_ffi.C, self._free_fn)(self._h)
            self._h = None
        self._after_free()

    def free(self):
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: the library may be gone
            pass

    def last_error(self):
        if self._error_fn is None or self._h is None:
            return ''
        return getattr(_ffi.C, self._error_fn)(self._h).decode('utf-8', 'replace')
