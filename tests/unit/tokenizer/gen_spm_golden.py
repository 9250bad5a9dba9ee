#!/usr/bin/env python3
"""gen_spm_golden.py -- the SentencePiece ("llama") model and goldens:
  data/spm.gguf        a 1000-piece BPE model trained with Debian's `spm_train`
                       (sentencepiece 0.1.97) on the first 400 kB of Jane Austen's
                       novels (public domain; bench/tokenize/make_corpus.py), byte
                       fallback on, no normalisation (identity rule, extra spaces
                       kept) -- what a GGUF "llama" tokenizer does
  data/spm_texts.bin   the lines of data/texts.bin (spm_encode reads one line per
                       text, so texts are split at newlines; invalid bytes are
                       replaced as the library does), as (u32 length, bytes) records
  data/spm_ids.txt     per line, the ids `spm_encode --output_format=id` gives

Usage: gen_spm_golden.py   (after gen_bpe_golden.py; needs spm_train, spm_encode)
"""
import os
import struct
import subprocess
import sys
import tempfile

import tokgguf
from gen_bpe_golden import decode_like_lib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, '..', '..', '..')


def read_records(path):
    b = open(path, 'rb').read()
    out, o = [], 0
    while o < len(b):
        n = struct.unpack('<I', b[o:o + 4])[0]
        out.append(b[o + 4:o + 4 + n])
        o += 4 + n
    return out


def main():
    tmp = tempfile.mkdtemp(prefix='tdiff-spm-')
    corpus = os.path.join(tmp, 'austen.txt')
    subprocess.run([sys.executable, os.path.join(ROOT, 'bench', 'tokenize', 'make_corpus.py'), corpus], check=True)
    train = os.path.join(tmp, 'train.txt')
    with open(corpus, 'rb') as f, open(train, 'wb') as g:
        g.write(f.read(400000))
    prefix = os.path.join(tmp, 'spm')
    subprocess.run(['spm_train', '--input=' + train, '--model_prefix=' + prefix, '--vocab_size=1000',
                    '--model_type=bpe', '--byte_fallback=true', '--normalization_rule_name=identity',
                    '--remove_extra_whitespaces=false', '--character_coverage=1.0', '--num_threads=1',
                    '--minloglevel=2'], check=True)
    tokens, scores, types = [], [], []
    with open(prefix + '.vocab', encoding='utf-8') as f:
        for line in f:
            piece, score = line.rstrip('\n').split('\t')
            tokens.append(piece)
            scores.append(float(score))
            if piece == '<unk>':
                types.append(tokgguf.UNKNOWN)
            elif piece in ('<s>', '</s>'):
                types.append(tokgguf.CONTROL)
            elif len(piece) == 6 and piece.startswith('<0x') and piece.endswith('>'):
                types.append(tokgguf.BYTE)
            else:
                types.append(tokgguf.NORMAL)
    tokgguf.write(os.path.join(HERE, 'data', 'spm.gguf'), 'llama', tokens, types, scores=scores,
                  special={'unk': 0, 'bos': 1, 'eos': 2}, flags={'add_bos_token': True, 'add_eos_token': False})
    lines = []
    for t in read_records(os.path.join(HERE, 'data', 'texts.bin')):
        for ln in decode_like_lib(t).split('\n'):
            lines.append(ln.encode('utf-8'))
    with open(os.path.join(HERE, 'data', 'spm_texts.bin'), 'wb') as f:
        for ln in lines:
            f.write(struct.pack('<I', len(ln)) + ln)
    res = subprocess.run(['spm_encode', '--model=' + prefix + '.model', '--output_format=id'],
                         input=b'\n'.join(lines) + b'\n', check=True, capture_output=True).stdout
    out = res.decode().split('\n')[:len(lines)]
    with open(os.path.join(HERE, 'data', 'spm_ids.txt'), 'w') as f:
        for o in out:
            f.write(','.join(o.split()) + '\n')
    print('%d pieces, %d lines, %d ids' % (len(tokens), len(lines), sum(len(o.split()) for o in out)))


if __name__ == '__main__':
    main()
