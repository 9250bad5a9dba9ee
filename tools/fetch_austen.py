#!/usr/bin/env python3
"""Fetch Jane Austen's six novels from Debian's r-cran-janeaustenr and extract them as plain UTF-8 text.

Owns: the training/held-out corpus of the bundled default model (see models/README.md).

Source: the R data file usr/lib/R/site-library/janeaustenr/data/Rdata.rdb of the Debian package
r-cran-janeaustenr. If the package is installed it is read in place; otherwise the .deb is fetched with
`apt-get download` and unpacked with `dpkg-deb -x` into the cache folder (never installed: it depends on R).

.rdb layout: a sequence of blocks, each a 4-byte big-endian uncompressed length followed by one zlib stream;
each stream is an R serialization ("X\\n" = XDR, big-endian) of one character vector (STRSXP, type 16) holding
one line of a book per element (CHARSXP, type 9: flags word, length, bytes; length -1 = NA).

Output (in --out, default .cache/austen/):
  austen.txt    all six books, paragraphs unwrapped to single lines, separated by blank lines
  train.txt     the first 95% of every book (cut at a paragraph boundary)
  heldout.txt   the last 5% of every book
  heldout-plain.txt  the same without the book separators (for tools that score plain text: textdiff score)
Books are separated by a line holding only <|endoftext|> in these files. The split is deterministic: for each
book, the held-out part starts at the first paragraph whose start offset is >= 95% of the book's characters.
"""
import argparse
import glob
import hashlib
import os
import struct
import subprocess
import sys
import zlib

RDB_REL = "usr/lib/R/site-library/janeaustenr/data/Rdata.rdb"
SEP = "<|endoftext|>"
HELDOUT_FRACTION = 0.05


def find_rdb(cache):
    installed = "/" + RDB_REL
    if os.path.exists(installed):
        return installed
    unpacked = os.path.join(cache, "deb", RDB_REL)
    if os.path.exists(unpacked):
        return unpacked
    debdir = os.path.join(cache, "deb-download")
    os.makedirs(debdir, exist_ok=True)
    debs = glob.glob(os.path.join(debdir, "r-cran-janeaustenr_*.deb"))
    if not debs:
        subprocess.run(["apt-get", "download", "r-cran-janeaustenr"], cwd=debdir, check=True)
        debs = glob.glob(os.path.join(debdir, "r-cran-janeaustenr_*.deb"))
    if not debs:
        sys.exit("fetch_austen: apt-get download produced no r-cran-janeaustenr .deb")
    subprocess.run(["dpkg-deb", "-x", sorted(debs)[-1], os.path.join(cache, "deb")], check=True)
    return unpacked


class XdrReader:
    def __init__(self, data):
        self.d = data
        self.p = 0

    def i32(self):
        v = struct.unpack_from(">i", self.d, self.p)[0]
        self.p += 4
        return v

    def raw(self, n):
        if n < 0 or self.p + n > len(self.d):
            raise ValueError("truncated R serialization")
        b = self.d[self.p:self.p + n]
        self.p += n
        return b


def parse_strsxp(blob):
    """Return the strings of a serialized R character vector (NA elements become None)."""
    r = XdrReader(blob)
    if r.raw(2) != b"X\n":
        raise ValueError("not an XDR R serialization")
    version = r.i32()
    r.i32()  # writer R version
    r.i32()  # minimal reader R version
    if version == 3:
        r.raw(r.i32())  # native encoding name
    flags = r.i32()
    if flags & 0xFF != 16:
        raise ValueError("expected a character vector, got SEXP type %d" % (flags & 0xFF))
    n = r.i32()
    out = []
    for _ in range(n):
        cflags = r.i32()
        if cflags & 0xFF != 9:
            raise ValueError("expected CHARSXP, got type %d" % (cflags & 0xFF))
        ln = r.i32()
        out.append(None if ln == -1 else r.raw(ln).decode("utf-8"))
    return out


def read_books(path):
    data = open(path, "rb").read()
    off = 0
    books = []
    while off < len(data):
        (ulen,) = struct.unpack_from(">I", data, off)
        dec = zlib.decompressobj()
        blob = dec.decompress(data[off + 4:])
        if len(blob) != ulen:
            raise ValueError("block at %d: length %d != header %d" % (off, len(blob), ulen))
        off = len(data) - len(dec.unused_data)
        books.append(parse_strsxp(blob))
    return books


def paragraphs(lines):
    """Unwrap the Gutenberg line breaks: non-empty lines between blank lines form one paragraph."""
    paras, cur = [], []
    for ln in lines:
        ln = (ln or "").strip()
        if ln:
            cur.append(ln)
        elif cur:
            paras.append(" ".join(cur))
            cur = []
    if cur:
        paras.append(" ".join(cur))
    return paras


def split_book(paras):
    total = sum(len(p) + 2 for p in paras)
    pos = 0
    for i, p in enumerate(paras):
        if pos >= (1.0 - HELDOUT_FRACTION) * total:
            return paras[:i], paras[i:]
        pos += len(p) + 2
    return paras, []


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=".cache/austen", help="output folder (default .cache/austen)")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rdb = find_rdb(os.path.abspath(a.out))
    books = [paragraphs(b) for b in read_books(rdb)]
    if len(books) != 6:
        sys.exit("fetch_austen: expected 6 books, found %d" % len(books))
    full, train, held = [], [], []
    for b in books:
        tr, he = split_book(b)
        full.append("\n\n".join(b))
        train.append("\n\n".join(tr))
        held.append("\n\n".join(he))
    joiner = "\n\n" + SEP + "\n\n"
    outputs = [("austen.txt", joiner, full), ("train.txt", joiner, train), ("heldout.txt", joiner, held),
               ("heldout-plain.txt", "\n\n", held)]
    for name, sep, parts in outputs:
        text = sep.join(parts) + "\n"
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.write(text)
        print("%-17s %9d chars  sha256 %s" % (name, len(text),
                                              hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]))
    print("source: %s" % rdb)


if __name__ == "__main__":
    main()
