"""tokenizer.py -- Tokenizer (tdiff_tokenizer): text <-> token ids from a model's
tokenizer.ggml.* metadata, plus TokenStream for decoding token by token.

The C tokenizer copies what it needs, so it may outlive its model; it is immutable and
may be used from several Python threads at once (ctypes releases the GIL during calls).
"""
import ctypes

from . import _ffi
from ._handle import Handle
from ._host import HOST_P
from ._errors import Status, TextdiffError, check
from ._util import ERR_CAP, enum_value, ids_array, ptr, read_bytes
from .constants import (CHAT_ADD_ASSISTANT, DETOKENIZE_RENDER_SPECIAL, TOKENIZE_ADD_SPECIAL, TOKENIZE_PARSE_SPECIAL,
                        Special, TokenizerKind)

C = _ffi.C


class Tokenizer(Handle):
    """Tokenizer(model). tokenize(str|bytes) -> list of ids; detokenize(ids) -> str."""

    _what = 'tokenizer'
    _free_fn = 'tdiff_tokenizer_free'

    def __init__(self, model):
        err = ctypes.create_string_buffer(ERR_CAP)
        out = ctypes.c_void_p()
        st = C.tdiff_tokenizer_create(model.handle, HOST_P, ctypes.byref(out), err, len(err))
        check(st, 'tdiff_tokenizer_create', err.value.decode('utf-8', 'replace'))
        self._h = out.value

    # ---------------------------------------------------------- text <-> ids

    def tokenize(self, text, add_special=True, parse_special=False):
        """Token ids of text (str, encoded as UTF-8, or bytes). add_special adds BOS/EOS as
        the model says; parse_special turns the text of control tokens into them."""
        data = text.encode('utf-8') if isinstance(text, str) else bytes(text)
        flags = (TOKENIZE_ADD_SPECIAL if add_special else 0) | (TOKENIZE_PARSE_SPECIAL if parse_special else 0)
        n = ctypes.c_size_t()
        cap = len(data) + 8  # reason: at most one id per byte, plus BOS/EOS/[CLS]/[SEP]
        for _ in range(2):
            ids = (ctypes.c_int32 * cap)()
            st = C.tdiff_tokenizer_tokenize(self.handle, data, len(data), flags, ids, cap, ctypes.byref(n))
            if st == Status.BUFFER_TOO_SMALL:
                cap = n.value
                continue
            break
        check(st, 'tdiff_tokenizer_tokenize')
        return list(ids[:n.value])

    def _in_vocab(self, ids, fname):
        """The C tokenizer keeps no error text: name the offending id here."""
        n = self.n_vocab
        for i, v in enumerate(ids.tolist() if hasattr(ids, 'tolist') else ids):
            if not 0 <= int(v) < n:
                raise TextdiffError(Status.INVALID_ARGUMENT, 'id %d at index %d is outside the vocabulary [0, %d)'
                                    % (int(v), i, n), fname)

    def detokenize_bytes(self, ids, render_special=False):
        """The bytes of ids (may be invalid UTF-8 where ids cut a character)."""
        a = ids_array(ids, 'ids')
        self._in_vocab(a, 'tdiff_tokenizer_detokenize')
        flags = DETOKENIZE_RENDER_SPECIAL if render_special else 0
        return read_bytes(lambda b, c, n: C.tdiff_tokenizer_detokenize(self.handle, ptr(a, ctypes.c_int32), a.size,
                                                                       flags, b, c, n),
                          'tdiff_tokenizer_detokenize', first_cap=8 * a.size + 16)

    def detokenize(self, ids, render_special=False, errors='replace'):
        """The text of ids, decoded from UTF-8 (`errors` as for bytes.decode)."""
        return self.detokenize_bytes(ids, render_special).decode('utf-8', errors)

    def token_piece(self, token_id):
        """The bytes token_id stands for (special tokens as their text)."""
        self._in_vocab([token_id], 'tdiff_tokenizer_token_piece')
        return read_bytes(lambda b, c, n: C.tdiff_tokenizer_token_piece(self.handle, int(token_id), b, c, n),
                          'tdiff_tokenizer_token_piece', first_cap=64)

    def token_text(self, token_id):
        """The token's text as stored in the vocabulary (e.g. 'Ġthe')."""
        self._in_vocab([token_id], 'tdiff_tokenizer_token_text')
        return read_bytes(lambda b, c, n: C.tdiff_tokenizer_token_text(self.handle, int(token_id), b, c, n),
                          'tdiff_tokenizer_token_text', first_cap=64).decode('utf-8', 'replace')

    # ---------------------------------------------------------- chat

    @property
    def chat_format(self):
        """The model's chat template family ('content', 'chatml', 'llama3'), None when
        the template is not one the library renders."""
        f = C.tdiff_tokenizer_chat_format(self.handle)
        return f.decode() if f else None

    def apply_chat(self, messages, add_assistant=True):
        """The chat text of messages ([(role, content)] or [{'role':, 'content':}]) as
        llama.cpp builds it for the model's template; add_assistant ends it with the
        assistant's header. Tokenize it with add_special=True, parse_special=True."""
        pairs = [(m['role'], m['content']) if isinstance(m, dict) else tuple(m) for m in messages]
        arr = (_ffi.ChatMessage * max(1, len(pairs)))()
        keep = []  # the encoded strings must outlive the call
        for i, (role, content) in enumerate(pairs):
            r, c = role.encode('utf-8'), content.encode('utf-8')
            if b'\0' in r or b'\0' in c:
                raise ValueError('apply_chat: message %d holds a NUL character' % i)
            keep += [r, c]
            arr[i].role, arr[i].content = r, c
        flags = CHAT_ADD_ASSISTANT if add_assistant else 0
        fmt = self.chat_format
        why = None if fmt else "the model's tokenizer.chat_template is none of the families rendered (content, chatml, llama3)"
        return read_bytes(lambda b, cap, n: C.tdiff_tokenizer_apply_chat(self.handle, arr, len(pairs), flags, b, cap, n),
                          'tdiff_tokenizer_apply_chat', first_cap=256, message=why).decode('utf-8', 'replace')

    def chat_ids(self, messages, add_assistant=True):
        """The prompt ids llama.cpp's llama-diffusion-cli gives the model for messages."""
        return self.tokenize(self.apply_chat(messages, add_assistant), add_special=True, parse_special=True)

    def stream(self, render_special=False):
        """A TokenStream: feed ids one at a time, get whole UTF-8 characters back."""
        return TokenStream(self, render_special)

    # ---------------------------------------------------------- vocabulary

    @property
    def n_vocab(self):
        v = ctypes.c_size_t()
        check(C.tdiff_tokenizer_vocab_size(self.handle, ctypes.byref(v)), 'tdiff_tokenizer_vocab_size')
        return v.value

    def special_id(self, which):
        """Id of a special token (Special member or name), None when the tokenizer has none."""
        w = enum_value(Special, which, 'special token')
        v = ctypes.c_int32()
        st = C.tdiff_tokenizer_special_id(self.handle, w, ctypes.byref(v))
        if st == Status.NOT_FOUND:
            return None
        check(st, 'tdiff_tokenizer_special_id')
        return v.value

    @property
    def kind(self):
        return TokenizerKind(C.tdiff_tokenizer_kind(self.handle))

    def is_special(self, token_id):
        return bool(C.tdiff_tokenizer_is_special(self.handle, int(token_id)))


class TokenStream:
    """Incremental decoder (tdiff_token_stream): piece(id) returns the bytes that are
    complete UTF-8 so far; flush() returns what is held back at the end."""

    def __init__(self, tokenizer, render_special=False):
        self._tok = tokenizer  # the C stream calls need the tokenizer alive
        self._flags = DETOKENIZE_RENDER_SPECIAL if render_special else 0
        self._state = _ffi.TokenStream()
        C.tdiff_token_stream_init(ctypes.byref(self._state))

    def piece(self, token_id):
        self._tok._in_vocab([token_id], 'tdiff_tokenizer_stream_piece')
        return read_bytes(lambda b, c, n: C.tdiff_tokenizer_stream_piece(self._tok.handle, ctypes.byref(self._state),
                                                                         int(token_id), self._flags, b, c, n),
                          'tdiff_tokenizer_stream_piece', first_cap=64)

    def flush(self):
        return read_bytes(lambda b, c, n: C.tdiff_token_stream_flush(ctypes.byref(self._state), b, c, n),
                          'tdiff_token_stream_flush', first_cap=8)
