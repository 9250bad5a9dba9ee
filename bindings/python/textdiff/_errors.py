"""_errors.py -- TextdiffError and the status codes of include/libtextdiff.h.

Every failing library call becomes a TextdiffError carrying the status code, the
library's static description of it, and the library's own message (the handle's
last error, or the err buffer of a load/create function) when there is one.
"""
import enum

from ._ffi import C


class Status(enum.IntEnum):
    """tdiff_status (values never renumbered)."""
    OK = 0
    INVALID_ARGUMENT = -1
    OUT_OF_MEMORY = -2
    IO = -3
    BAD_FORMAT = -4
    UNSUPPORTED = -5
    BUFFER_TOO_SMALL = -6
    NOT_FOUND = -7
    TYPE_MISMATCH = -8
    ABORTED = -9
    STATE = -10
    OVERFLOW = -11
    INTERNAL = -12


def status_string(code):
    """tdiff_status_string: a short English description of a status code."""
    return C.tdiff_status_string(int(code)).decode('utf-8', 'replace')


class TextdiffError(Exception):
    """A libtextdiff call failed.

    Attributes: status (int, a tdiff_status), status_name ("NOT_FOUND", or the number
    for codes this binding does not know), message (the library's text, may be ""),
    function (the C function that failed).
    """

    def __init__(self, status, message='', function=''):
        self.status = int(status)
        try:
            self.status_name = Status(self.status).name
        except ValueError:
            self.status_name = str(self.status)
        self.message = message or ''
        self.function = function
        text = '%s: %s' % (function, status_string(self.status)) if function else status_string(self.status)
        if self.message:
            text += ': ' + self.message
        super().__init__(text)


def _text(raw):
    if raw is None:
        return ''
    if isinstance(raw, bytes):
        return raw.decode('utf-8', 'replace')
    return str(raw)


def check(status, function, message=None):
    """Raises TextdiffError unless status is OK. `message` is a callable (called only on
    failure, so the handle's last error is read right after the failing call) or text."""
    if status != 0:
        msg = message() if callable(message) else message
        raise TextdiffError(status, _text(msg), function)
    return status
