"""hf_tokenizer.py -- a Hugging Face tokenizer directory -> GGUF tokenizer keys, as
llama.cpp's converter writes them (its get_vocab_base for LLaDA/Dream and its
gguf-py SpecialVocab), without transformers.

Files read, whichever exist: tokenizer.json (fast tokenizers: LLaDA, BERT),
vocab.json + merges.txt (slow GPT-2-style: Dream/Qwen2), vocab.txt (slow BERT),
tokenizer_config.json (added tokens, bos/eos/... names, add_*_token flags, the
chat template; chat_template.jinja / chat_template.json too), config.json
(*_token_id, read last: it only fills ids the tokenizer files left open).

Token list: n_vocab entries (the model's embedding rows); ids no file names become
"[PAD<i>]" of type UNUSED; added tokens are CONTROL when marked special, else
USER_DEFINED; everything else NORMAL. Byte-level merges whose parts contain a space
get it spelled U+0120, as llama.cpp does.

tokenizer.ggml.pre: llama.cpp picks it by hashing the ids its Python tokenizer
gives for a probe text; we have no Python tokenizer, so the name comes from the
split pattern itself: the regex of tokenizer.json's pre_tokenizer (GPT-2, Llama-3 or
Qwen2 pattern), else the slow tokenizer's class (Qwen2/Dream -> qwen2, GPT2 ->
gpt-2). Anything else stops with a message; --pre NAME decides then.

API: load(directory, n_vocab, config, pre=None, kind_hint=None) -> Tokenizer
     Tokenizer.add_gguf_keys(writer)
"""
import json
import os

import gguf

NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SPECIAL_TYPES = ('bos', 'eos', 'unk', 'sep', 'pad', 'cls', 'mask')
# GGUF key suffix for each special type (llama.cpp spells "seperator")
SPECIAL_KEYS = {'bos': 'bos_token_id', 'eos': 'eos_token_id', 'unk': 'unknown_token_id', 'sep': 'seperator_token_id',
                'pad': 'padding_token_id', 'cls': 'cls_token_id', 'mask': 'mask_token_id'}

# The split patterns of the pre-tokenizers llama.cpp names (llama-vocab.cpp).
_GPT2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)"
_LLAMA3 = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
           "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")
_QWEN2 = _LLAMA3.replace('\\p{N}{1,3}', '\\p{N}')
PATTERNS = {_GPT2: 'gpt-2', _LLAMA3: 'llama-bpe', _QWEN2: 'qwen2'}
SLOW_CLASSES = {'Qwen2Tokenizer': 'qwen2', 'Qwen2TokenizerFast': 'qwen2', 'DreamTokenizer': 'qwen2',
                'GPT2Tokenizer': 'gpt-2', 'GPT2TokenizerFast': 'gpt-2'}


def _json(path):
    if not os.path.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _content(entry):
    """A tokenizer_config token entry: "text" or {"content": "text", ...}."""
    if isinstance(entry, str):
        return entry
    if isinstance(entry, dict) and isinstance(entry.get('content'), str):
        return entry['content']
    return None


def _splits(pre):
    """Regex patterns and whether a ByteLevel step splits with GPT-2's pattern."""
    if not pre:
        return [], False
    if pre.get('type') == 'Sequence':
        pats, bl = [], False
        for p in pre.get('pretokenizers', []):
            q, b = _splits(p)
            pats += q
            bl = bl or b
        return pats, bl
    if pre.get('type') == 'Split':
        pat = pre.get('pattern', {})
        return [pat.get('Regex', pat.get('String'))], False
    if pre.get('type') == 'ByteLevel':
        return [], bool(pre.get('use_regex', True))
    return [], False


class Tokenizer:
    def __init__(self):
        self.model = None        # 'gpt2' | 'bert'
        self.pre = None
        self.tokens, self.types, self.merges = [], [], []
        self.special = {}        # typ -> id, in the order found (written in that order)
        self.add = {}            # typ -> bool (add_bos_token, ...), likewise
        self.chat_template = None  # str, or [{'name', 'template'}]

    def add_gguf_keys(self, w):
        w.add('tokenizer.ggml.model', self.model)
        if self.pre is not None:
            w.add('tokenizer.ggml.pre', self.pre)
        w.add_array('tokenizer.ggml.tokens', self.tokens, gguf.STRING)
        w.add_array('tokenizer.ggml.token_type', self.types, gguf.I32)
        if self.merges:
            w.add_array('tokenizer.ggml.merges', self.merges, gguf.STRING)
        for typ, i in self.special.items():  # in the order gguf-py's SpecialVocab found them
            w.add('tokenizer.ggml.' + SPECIAL_KEYS[typ], int(i), gguf.U32, replace=True)
        for typ, flag in self.add.items():
            if typ in ('bos', 'eos', 'sep'):
                w.add('tokenizer.ggml.add_%s_token' % typ, bool(flag), gguf.BOOL)
        ct = self.chat_template
        if isinstance(ct, str):
            w.add('tokenizer.chat_template', ct)
        elif isinstance(ct, list):  # named templates: "default" is the main one (gguf-py's rule)
            names = []
            for t in ct:
                if t['name'] == 'default':
                    w.add('tokenizer.chat_template', t['template'])
                else:
                    w.add('tokenizer.chat_template.' + t['name'], t['template'])
                    names.append(t['name'])
            if names:
                w.add_array('tokenizer.chat_templates', names, gguf.STRING)


def _merge_text(m):
    if isinstance(m, str):
        return m
    # [a, b] pairs (transformers >= 4.45): spaces inside a part are spelled U+0120
    return ' '.join(''.join(chr(ord(c) + 256) if c == ' ' else c for c in part) for part in m)


def _read_vocab(d, tj, tc):
    """(vocab {text: id}, added {text: special?}, merges, model kind, tokenizer.json or None)."""
    added = {}
    if tj is not None:
        model = tj['model']
        kinds = {'BPE': 'gpt2', 'WordPiece': 'bert'}
        if model.get('type') not in kinds:
            raise ValueError('tokenizer.json: model type %r is not converted (BPE, WordPiece)' % model.get('type'))
        if model['type'] == 'BPE' and model.get('byte_fallback'):
            raise ValueError('tokenizer.json: a SentencePiece-style BPE with byte fallback is not converted')
        vocab = dict(model['vocab'])
        for t in tj.get('added_tokens', []):
            vocab[t['content']] = t['id']
            added[t['content']] = bool(t.get('special'))
        merges = [_merge_text(m) for m in model.get('merges', [])] if model['type'] == 'BPE' else []
        return vocab, added, merges, kinds[model['type']]
    vj = _json(os.path.join(d, 'vocab.json'))
    if vj is not None:
        merges = []
        with open(os.path.join(d, 'merges.txt'), encoding='utf-8') as f:
            for i, line in enumerate(f):
                line = line.strip()
                if line and not (i == 0 and line.startswith('#')):
                    merges.append(line)
        vocab, kind = dict(vj), 'gpt2'
    elif os.path.isfile(os.path.join(d, 'vocab.txt')):
        with open(os.path.join(d, 'vocab.txt'), encoding='utf-8') as f:
            vocab = {line.rstrip('\n'): i for i, line in enumerate(f)}
        merges, kind = [], 'bert'
        # the slow BertTokenizer registers its special tokens as added tokens
        added.update({t: True for t in ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]') if t in vocab})
    else:
        raise FileNotFoundError('%s: no tokenizer.json, vocab.json + merges.txt or vocab.txt' % d)
    for i, t in ((tc or {}).get('added_tokens_decoder') or {}).items():
        vocab[t['content']] = int(i)
        added[t['content']] = bool(t.get('special'))
    return vocab, added, merges, kind


def _pre_name(tj, tc):
    if tj is not None:
        pats, bytelevel = _splits(tj.get('pre_tokenizer'))
        pats = [p for p in pats if p is not None]
        if len(pats) == 1 and pats[0] in PATTERNS:
            return PATTERNS[pats[0]]
        if not pats and bytelevel:
            return 'gpt-2'
        raise ValueError('tokenizer.json: pre-tokenizer split pattern %s is not one this converter recognises '
                         '(GPT-2, Llama-3, Qwen2); pass --pre NAME with the name llama.cpp uses for it' %
                         (json.dumps(pats)[:160] or 'absent'))
    cls = (tc or {}).get('tokenizer_class')
    if cls in SLOW_CLASSES:
        return SLOW_CLASSES[cls]
    raise ValueError('tokenizer class %r: pre-tokenizer unknown; pass --pre NAME (e.g. qwen2, llama-bpe, gpt-2)' % cls)


def _template_processing(tj, tc, tok):
    """add_bos / add_eos from a TemplateProcessing post-processor (the simple cases gguf-py reads)."""
    post = (tj or {}).get('post_processor') or {}
    for p in post.get('processors', [post]):
        if p.get('type') == 'RobertaProcessing':
            tok.add.update(bos=True, eos=True, sep=True)
        elif p.get('type') == 'TemplateProcessing':
            single = p.get('single', [])
            if len(single) > 1:
                first = single[0].get('SpecialToken', {}).get('id')
                last = single[-1].get('SpecialToken', {}).get('id')
                bos, cls, eos = (_content((tc or {}).get(k)) for k in ('bos_token', 'cls_token', 'eos_token'))
                if first:
                    tok.add['bos'] = first in (bos, cls) or not tc
                if last:
                    tok.add['eos'] = last == eos or not tc


def load(d, n_vocab, config=None, pre=None, kind_hint=None):
    """The tokenizer of directory d for a model with n_vocab embedding rows."""
    tj = _json(os.path.join(d, 'tokenizer.json'))
    tc = _json(os.path.join(d, 'tokenizer_config.json'))
    vocab, added, merges, kind = _read_vocab(d, tj, tc)
    if max(vocab.values()) >= n_vocab:
        raise ValueError('the tokenizer has id %d but the model only %d embedding rows' % (max(vocab.values()), n_vocab))
    tok = Tokenizer()
    tok.model = kind
    if kind == 'gpt2':
        tok.pre = pre or _pre_name(tj, tc)
        tok.merges = merges
    reverse = {i: t for t, i in vocab.items()}
    for i in range(n_vocab):
        t = reverse.get(i)
        if t is None:
            tok.tokens.append('[PAD%d]' % i)
            tok.types.append(UNUSED)
        elif t in added:
            tok.tokens.append(t)
            tok.types.append(CONTROL if added[t] else USER_DEFINED)
        else:
            tok.tokens.append(t)
            tok.types.append(NORMAL)
    if kind == 'bert':  # llama.cpp's "phantom space" spelling of WordPiece pieces
        tok.tokens = [t if ty == CONTROL else t[2:] if t.startswith('##') else '\u2581' + t
                      for t, ty in zip(tok.tokens, tok.types)]
    _specials(d, tj, tc, config or {}, vocab, kind, tok)
    return tok


def _specials(d, tj, tc, config, vocab, kind, tok):
    added_ids = {t['content']: t['id'] for t in (tj or {}).get('added_tokens', [])}
    _template_processing(tj, tc, tok)
    if tc:
        for typ in SPECIAL_TYPES:
            flag = tc.get('add_%s_token' % typ)
            if isinstance(flag, bool):
                tok.add[typ] = flag
            text = _content(tc.get('%s_token' % typ))
            # gguf-py resolves names through tokenizer.json's added tokens only
            if text is not None and text in added_ids and typ not in tok.special:
                tok.special[typ] = added_ids[text]
        alt = None
        if os.path.isfile(os.path.join(d, 'chat_template.jinja')):
            with open(os.path.join(d, 'chat_template.jinja'), encoding='utf-8') as f:
                alt = f.read()
        elif os.path.isfile(os.path.join(d, 'chat_template.json')):
            alt = _json(os.path.join(d, 'chat_template.json')).get('chat_template')
        ct = tc.get('chat_template', alt)
        tok.chat_template = ct if isinstance(ct, (str, list)) else None
    for typ in SPECIAL_TYPES:
        v = config.get('%s_token_id' % typ)
        if isinstance(v, int) and v >= 0 and typ not in tok.special:
            tok.special[typ] = v
    if kind == 'bert':  # WordPiece names its specials by text
        for typ, text in (('unk', '[UNK]'), ('sep', '[SEP]'), ('pad', '[PAD]'), ('cls', '[CLS]'), ('mask', '[MASK]')):
            if typ not in tok.special and text in vocab:
                tok.special[typ] = vocab[text]


def placeholder(n_vocab):
    """A stand-in vocabulary ("<tok_i>", model "none") for checkpoints without tokenizer files."""
    tok = Tokenizer()
    tok.model = 'none'
    tok.tokens = ['<tok_%d>' % i for i in range(n_vocab)]
    tok.types = [NORMAL] * n_vocab
    return tok
