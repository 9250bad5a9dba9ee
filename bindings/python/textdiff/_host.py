"""_host.py -- the one tdiff_host every handle of this binding is created with: default
allocator, and a log callback that routes the library's messages to Python's `logging`
(logger "textdiff") and lets a failing creation call read the message it logged.

Why: a create/load function that fails leaves no handle whose last error could be read;
the library logs the reason through host->log_fn instead. The callback object lives as
long as this module (handles keep calling it), so it can never be collected under them.
"""
import contextlib
import ctypes
import logging
import threading

from . import _ffi

logger = logging.getLogger('textdiff')

# library level -> logging level; errors are raised as TextdiffError anyway, so they are
# only DEBUG records (a WARNING would reach stderr through logging's last-resort handler)
_LEVELS = {1: logging.DEBUG, 2: logging.WARNING, 3: logging.INFO, 4: logging.DEBUG}
_LOG_WARN = 2  # TDIFF_LOG_WARN: errors and warnings cross, info/debug stay in C

_local = threading.local()


def _on_log(user_data, level, msg):
    try:
        text = msg.decode('utf-8', 'replace') if msg else ''
        captured = getattr(_local, 'captured', None)
        if captured is not None:
            captured.append((level, text))
        logger.log(_LEVELS.get(level, logging.INFO), '%s', text)
    except BaseException:  # never unwind through C; losing a log line is harmless
        pass


_log_cfunc = _ffi.LOG_FN(_on_log)
HOST = _ffi.Host(struct_size=ctypes.sizeof(_ffi.Host), log_fn=_log_cfunc, log_level=_LOG_WARN)
HOST_P = ctypes.pointer(HOST)


@contextlib.contextmanager
def capture():
    """Collects the messages the library logs on this thread inside the block; yields a
    callable giving the error messages joined (for TextdiffError)."""
    outer = getattr(_local, 'captured', None)
    _local.captured = []
    box = _local.captured
    try:
        yield lambda: '; '.join(t for lvl, t in box if lvl == 1)
    finally:
        _local.captured = outer
