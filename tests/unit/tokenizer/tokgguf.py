"""tokgguf.py -- writes tokenizer-only GGUF files (metadata, no tensors) with the
repository's GGUF writer (tools/gguf.py), for the tokenizer tests."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'tools'))
import gguf  # noqa: E402

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def write(path, model, tokens, types, arch='tokenizer-test', pre=None, merges=None, scores=None,
          special=None, flags=None):
    """special: {'bos': id, 'eos': id, ...} -> tokenizer.ggml.<name>_token_id (U32);
    flags: {'add_bos_token': bool, ...} -> tokenizer.ggml.<name> (BOOL)."""
    w = gguf.Writer()
    w.add('general.architecture', arch)
    w.add('tokenizer.ggml.model', model)
    if pre is not None:
        w.add('tokenizer.ggml.pre', pre)
    w.add_array('tokenizer.ggml.tokens', tokens, gguf.STRING)
    w.add_array('tokenizer.ggml.token_type', types, gguf.I32)
    if scores is not None:
        w.add_array('tokenizer.ggml.scores', scores, gguf.F32)
    if merges is not None:
        w.add_array('tokenizer.ggml.merges', merges, gguf.STRING)
    names = {'bos': 'bos', 'eos': 'eos', 'unk': 'unknown', 'pad': 'padding', 'mask': 'mask',
             'sep': 'seperator', 'cls': 'cls'}
    for k, v in (special or {}).items():
        w.add('tokenizer.ggml.%s_token_id' % names[k], int(v), gguf.U32)
    for k, v in (flags or {}).items():
        w.add('tokenizer.ggml.' + k, bool(v), gguf.BOOL)
    w.write(path)
