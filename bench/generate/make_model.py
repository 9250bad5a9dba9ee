#!/usr/bin/python3
"""Writes the benchmark model: a random llada-shaped GGUF of ~110M parameters
(12 layers, d 768, 12 heads, FFN 2048, vocab 32000; the shape bench/forward uses),
through tools/gguf.py. Usage: make_model.py OUT.gguf"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import gguf  # noqa: E402

if __name__ == "__main__":
    gguf.write_llada(sys.argv[1], n_vocab=32000, n_embd=768, n_layer=12, n_ff=2048, n_head=12)
