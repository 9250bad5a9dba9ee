#!/usr/bin/env python3
"""make_corpus.py -- writes the benchmark text: Jane Austen's six novels (public
domain) from Debian's r-cran-janeaustenr package, whose Rdata.rdb holds them as
R-serialised character vectors (blocks of a 4-byte big-endian uncompressed
length and a zlib stream; strings are XDR records: a flag word with low byte 9, a big-endian
length, the UTF-8 bytes). Lines are joined with newlines, books with a blank line.

Usage: make_corpus.py OUT.txt [RDB]   (RDB defaults to the Debian install path;
       `apt-get download r-cran-janeaustenr` + `dpkg -x` gives it anywhere)
"""
import struct
import sys
import zlib

RDB = '/usr/lib/R/site-library/janeaustenr/data/Rdata.rdb'


def strings_of(blob):
    out, i = [], 0
    while i + 8 <= len(blob):
        flags, n = struct.unpack('>iI', blob[i:i + 8])
        if flags & 0xFF == 9 and n != 0xFFFFFFFF and i + 8 + n <= len(blob):
            out.append(blob[i + 8:i + 8 + n])
            i += 8 + n
        else:
            i += 4
    return out


def main():
    out = sys.argv[1]
    rdb = sys.argv[2] if len(sys.argv) > 2 else RDB
    data = open(rdb, 'rb').read()
    books, i = [], 0
    while i + 4 <= len(data):
        d = zlib.decompressobj()
        blob = d.decompress(data[i + 4:])
        lines = strings_of(blob)
        if len(lines) > 1000:  # the novels; the small blocks are names and indices
            books.append(b'\n'.join(lines))
        i = len(data) - len(d.unused_data)
    with open(out, 'wb') as f:
        f.write(b'\n\n'.join(books))
    print('%s: %d books, %d bytes' % (out, len(books), sum(len(b) for b in books)))


if __name__ == '__main__':
    main()
