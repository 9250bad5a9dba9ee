#!/usr/bin/env python3
"""Byte-level BPE: trainer and reference encoder for the bundled default model's vocabulary.

Owns: the tokenizer of models/ (GPT-2 conventions, so llama.cpp's `gpt2` tokenizer with
`tokenizer.ggml.pre = "gpt-2"` encodes text exactly as this file does).

- Pre-tokenization: the plain GPT-2 split pattern
  's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
  implemented as a hand-written scanner (Debian's python3 has no `regex` module with \\p{..}).
- Bytes: every pre-token is UTF-8 encoded and each byte mapped to GPT-2's printable unicode symbol
  (bytes_to_unicode), so token and merge strings look like GPT-2's ("Ġthe" = " the").
- Ids: 0-255 are the byte symbols in byte order, then merged tokens in merge order, then the control tokens
  <|endoftext|> and <|mdm_mask|> (last two ids).
- Training: classic BPE over the pre-token frequency table; each step merges the most frequent adjacent pair
  (ties: the lowest (left id, right id)), with incremental pair counts and a lazy max-heap. A merge whose string
  already exists as a token reuses that token (no duplicate strings in the vocabulary).

Usage: train_bpe.py --input .cache/austen/train.txt --vocab-size 4096 --out .cache/austen/bpe.json
"""
import argparse
import heapq
import json
import sys
import time
import unicodedata

SPECIALS = ("<|endoftext|>", "<|mdm_mask|>")
DOC_SEP = "<|endoftext|>"


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {b: chr(c) for b, c in zip(bs, cs)}


BYTE2U = bytes_to_unicode()
U2BYTE = {u: b for b, u in BYTE2U.items()}

_cls_cache = {}


def _cls(ch):
    """'L' letter, 'N' number, 'S' whitespace, 'P' anything else."""
    c = _cls_cache.get(ch)
    if c is None:
        cat = unicodedata.category(ch)
        if cat[0] == "L":
            c = "L"
        elif cat[0] == "N":
            c = "N"
        elif ch.isspace():
            c = "S"
        else:
            c = "P"
        _cls_cache[ch] = c
    return c


def pretokenize(text):
    """Split text with the GPT-2 pattern (leftmost alternative that matches wins, as in a regex engine)."""
    out = []
    n = len(text)
    i = 0
    cls = [_cls(ch) for ch in text]
    while i < n:
        ch = text[i]
        # 's 't 're 've 'm 'll 'd (case-sensitive, as in GPT-2)
        if ch == "'" and i + 1 < n:
            nx = text[i + 1]
            if nx in "stmd":
                out.append(text[i:i + 2])
                i += 2
                continue
            if i + 2 < n and text[i + 1:i + 3] in ("re", "ve", "ll"):
                out.append(text[i:i + 3])
                i += 3
                continue
        j = i + 1 if (ch == " " and i + 1 < n and cls[i + 1] != "S") else i
        c = cls[j]
        if c != "S":
            # ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`: one class run after an optional space
            k = j + 1
            while k < n and cls[k] == c:
                k += 1
            out.append(text[i:k])
            i = k
            continue
        # whitespace run: `\s+(?!\S)` leaves the last space to the next token when a non-space follows
        k = i + 1
        while k < n and cls[k] == "S":
            k += 1
        if k < n and k - i > 1:
            k -= 1
        out.append(text[i:k])
        i = k
    return out


def word_symbols(word):
    return "".join(BYTE2U[b] for b in word.encode("utf-8"))


def count_words(texts):
    counts = {}
    for t in texts:
        for w in pretokenize(t):
            counts[w] = counts.get(w, 0) + 1
    return counts


def train(counts, vocab_size, log=None):
    """Return (tokens, merges): token strings by id and merge strings "a b" by rank."""
    n_merge_tokens = vocab_size - 256 - len(SPECIALS)
    tokens = [BYTE2U[b] for b in range(256)]
    tok_id = {t: i for i, t in enumerate(tokens)}
    items = sorted(counts.items())
    words = [[tok_id[c] for c in word_symbols(w)] for w, _ in items]
    freq = [c for _, c in items]
    pair_count = {}
    where = {}
    for wi, sym in enumerate(words):
        f = freq[wi]
        for a, b in zip(sym, sym[1:]):
            pair_count[(a, b)] = pair_count.get((a, b), 0) + f
            where.setdefault((a, b), set()).add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    t0 = time.time()
    while len(tokens) - 256 < n_merge_tokens and heap:
        negc, pair = heapq.heappop(heap)
        if pair_count.get(pair, 0) != -negc:
            continue  # stale heap entry
        if -negc < 2:
            break
        a, b = pair
        s = tokens[a] + tokens[b]
        new = tok_id.get(s)
        if new is None:
            new = len(tokens)
            tokens.append(s)
            tok_id[s] = new
        merges.append(tokens[a] + " " + tokens[b])
        changed = set()
        for wi in list(where.get(pair, ())):
            sym = words[wi]
            f = freq[wi]
            out = []
            k = 0
            while k < len(sym):
                if k + 1 < len(sym) and sym[k] == a and sym[k + 1] == b:
                    out.append(new)
                    k += 2
                else:
                    out.append(sym[k])
                    k += 1
            old_pairs = list(zip(sym, sym[1:]))
            new_pairs = list(zip(out, out[1:]))
            for p in old_pairs:
                pair_count[p] -= f
                changed.add(p)
            for p in new_pairs:
                pair_count[p] = pair_count.get(p, 0) + f
                changed.add(p)
            for p in set(old_pairs) - set(new_pairs):
                where[p].discard(wi)
            for p in new_pairs:
                where.setdefault(p, set()).add(wi)
            words[wi] = out
        for p in changed:
            c = pair_count[p]
            if c > 0:
                heapq.heappush(heap, (-c, p))
            else:
                del pair_count[p]
                where.pop(p, None)
        if log and len(merges) % 500 == 0:
            log("  %d merges, last %r (count %d), %.1fs" % (len(merges), merges[-1], -negc, time.time() - t0))
    tokens.extend(SPECIALS)
    return tokens, merges


class Tokenizer:
    """Reference encoder/decoder: merges applied by rank inside each pre-token (what llama.cpp does)."""

    def __init__(self, tokens, merges):
        self.tokens = list(tokens)
        self.merges = list(merges)
        self.id = {t: i for i, t in enumerate(self.tokens)}
        self.rank = {tuple(m.split(" ")): r for r, m in enumerate(merges)}
        self.eot = self.id[SPECIALS[0]]
        self.mask = self.id[SPECIALS[1]]
        self._cache = {}

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return cls(d["tokens"], d["merges"])

    def _bpe(self, word):
        r = self._cache.get(word)
        if r is not None:
            return r
        parts = list(word_symbols(word))
        while len(parts) > 1:
            best = None
            for k in range(len(parts) - 1):
                rk = self.rank.get((parts[k], parts[k + 1]))
                if rk is not None and (best is None or rk < best[0]):
                    best = (rk, k)
            if best is None:
                break
            k = best[1]
            parts[k:k + 2] = [parts[k] + parts[k + 1]]
        r = [self.id[p] for p in parts]
        self._cache[word] = r
        return r

    def encode(self, text):
        ids = []
        for w in pretokenize(text):
            ids.extend(self._bpe(w))
        return ids

    def encode_docs(self, text):
        """Encode a file whose documents are separated by DOC_SEP lines; documents joined by the EOT id."""
        ids = []
        for k, doc in enumerate(text.split(DOC_SEP)):
            if k:
                ids.append(self.eot)
            ids.extend(self.encode(doc.strip("\n")))
        return ids

    def add_gguf_keys(self, w, gguf, mask=True, add_bos=False):
        """The tokenizer.ggml.* keys llama.cpp's gpt2 vocabulary loader reads, on a tools/gguf.py Writer.
        mask: write mask_token_id (diffusion models); add_bos: prompts start with <|endoftext|> (the
        autoregressive model, trained with it at position 0)."""
        special = (self.eot, self.mask)
        w.add("tokenizer.ggml.model", "gpt2")
        w.add("tokenizer.ggml.pre", "gpt-2")
        w.add_array("tokenizer.ggml.tokens", self.tokens, gguf.STRING)
        w.add_array("tokenizer.ggml.token_type", [3 if i in special else 1 for i in range(len(self.tokens))],
                    gguf.I32)
        w.add_array("tokenizer.ggml.merges", self.merges, gguf.STRING)
        w.add("tokenizer.ggml.bos_token_id", self.eot, gguf.U32)
        w.add("tokenizer.ggml.eos_token_id", self.eot, gguf.U32)
        if mask:
            w.add("tokenizer.ggml.mask_token_id", self.mask, gguf.U32)
        w.add("tokenizer.ggml.add_bos_token", bool(add_bos), gguf.BOOL)
        w.add("tokenizer.ggml.add_eos_token", False, gguf.BOOL)

    def decode(self, ids):
        bs = bytearray()
        for i in ids:
            t = self.tokens[i]
            if t in SPECIALS:
                bs.extend(t.encode("utf-8"))
            else:
                bs.extend(U2BYTE[c] for c in t)
        return bs.decode("utf-8", errors="replace")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--input", default=".cache/austen/train.txt")
    ap.add_argument("--vocab-size", type=int, default=4096)
    ap.add_argument("--out", default=".cache/austen/bpe.json")
    a = ap.parse_args()
    t0 = time.time()
    with open(a.input, encoding="utf-8") as f:
        docs = [d.strip("\n") for d in f.read().split(DOC_SEP)]
    counts = count_words(docs)
    print("pre-tokenized: %d distinct pre-tokens, %d total, %.1fs" %
          (len(counts), sum(counts.values()), time.time() - t0))
    tokens, merges = train(counts, a.vocab_size, log=print)
    if len(tokens) != a.vocab_size:
        sys.exit("train_bpe: corpus too small for %d tokens (got %d)" % (a.vocab_size, len(tokens)))
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"tokens": tokens, "merges": merges, "specials": list(SPECIALS)}, f, ensure_ascii=False)
    tok = Tokenizer(tokens, merges)
    sample = "It is a truth universally acknowledged, that a single man in possession of a good fortune"
    ids = tok.encode(sample)
    assert tok.decode(ids) == sample
    print("vocab %d (%d merges) -> %s in %.1fs; sample: %d chars -> %d tokens" %
          (len(tokens), len(merges), a.out, time.time() - t0, len(sample), len(ids)))


if __name__ == "__main__":
    main()
