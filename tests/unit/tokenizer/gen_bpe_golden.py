#!/usr/bin/env python3
"""gen_bpe_golden.py -- writes the byte-level BPE goldens:
  data/texts.bin        the test texts: records of (u32 little-endian length, bytes)
  data/gpt2_ids.txt     per text, the GPT-2 token ids from the npm package
                        gpt-3-encoder 1.1.4 (its Encoder.js run with node)
  data/split_<pre>.txt  per text, the UTF-8 byte lengths of the pieces that
                        llama.cpp's pre-tokenizer patterns (gpt-2, default, llama3,
                        qwen2) give, applied with JavaScript's Unicode regexes
                        (ref_gpt2.js)
One line per text, comma-separated. Invalid UTF-8 in a text is replaced before
it reaches the references by the library's documented rule (every byte that does
not start a well-formed sequence is U+FFFD), written out here independently.

Usage: gen_bpe_golden.py   (needs node and npm; fetches the package into a cache)
"""
import json
import os
import struct
import subprocess

import refpkg

HERE = os.path.dirname(os.path.abspath(__file__))

PROSE = (
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife. However little known the feelings or views of such a man may be on "
    "his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding "
    "families, that he is considered the rightful property of some one or other of their daughters."
)
CODE = (
    "#include <stdio.h>\n\nint main(int argc, char **argv)\n{\n    for (int i = 0; i < argc; i++) {\n"
    "        printf(\"%d: %s\\n\", i, argv[i]);\n    }\n    return 0; // done\n}\n"
    "def f(x):\n\treturn [y ** 2 for y in range(x) if y % 3 == 0]  # squares\n"
    "const a = {b: [1, 2, 3], 'c': `tpl ${d}`}; x += y >>= 2; a && b || !c; a->b; ::ns; <=> === !==\n"
)
TEXTS = [
    b"",
    b"the cat sat on the mat",
    b"Hello world",
    b" leading space and trailing space ",
    PROSE.encode(),
    CODE.encode(),
    b"3.14159 1,000,000 12345678901234567890 0x1F 2026-11-29 007 1e-5 v1.2.3 4096x4096",
    b"digits 1 12 123 1234 12345 123456 a1b22c333d4444",
    b"a  b   c    d\n\ne\n\n\nf \n g\t\th \t \n  \r\n\r\nend   ",
    b"   \n\n   ",
    b"\n",
    b"I'm you're we've they'll she'd it's don't CAN'T I'M WE'LL You'Re 'tis o'clock rock'n'roll",
    "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c5ngstr\u00f6m Zo\u00eb fa\u00e7ade \u00fcber Stra\u00dfe se\u00f1or".encode(),
    "cafe\u0301 decomposed e\u0301\u0301 a\u0308".encode(),
    "\u4f60\u597d\uff0c\u4e16\u754c\u3002\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8\ud55c\uad6d\uc5b4 \u6f22\u5b57".encode(),
    "emoji \U0001F642\U0001F44D\U0001F3FD family \U0001F468\u200d\U0001F469\u200d\U0001F467 flags \U0001F1EF\U0001F1F5!".encode(),
    b"invalid \xff\xfe bytes \xe2\x82 truncated \xc0\x80 overlong \xed\xa0\x80 surrogate \x80 end \xf4\x90\x80\x80",
    b"\xe2\x82\xac\xe2\x82",
    b"Hello!!! ...what?! (yes) [no] {maybe} <tag/> a+b=c ~tilde `back` $5 #hash @user 100% a|b ^x \\path",
    b"--- *** === ___ ''' \"\"\" ,,, ;;; ::: ??? !!!",
    "a\u00a0b\u3000c\u2028d\u2009e\u202ff \u00a0 g".encode(),
    "\u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac \u0420\u0443\u0441\u0441\u043a\u0438\u0439 "
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0939\u093f\u0928\u094d\u0926\u0940".encode(),
    "\u0661\u0662\u0663 \u0664\u0665 \u00bd \u2167 \u00b2 x\u00b3".encode(),
    b"supercalifragilisticexpialidocious" * 4,
    b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    b"<|endoftext|> special text is plain text here <|endoftext|>",
    "quotes \u201csmart\u201d \u2018single\u2019 \u2014 dash \u2013 en \u2026 ellipsis \u00ab\u00bb \u00bfQu\u00e9? \u00a1S\u00ed!".encode(),
    "math \u2211 \u221a\u03c0 \u2264 \u221e \u00b1 \u00d7 \u00f7 \u2192 \u2200x\u2208\u211d".encode(),
    b"Tab\tseparated\tvalues\nline two\tx\r\nwindows line\rcarriage",
    b"MiXeD CaSe WORDS and CamelCaseIdentifiers snake_case_names kebab-case-names",
    b"email@example.com https://example.org/path?q=1&r=2#frag C:\\Users\\x",
    b"   leading spaces",
    b"trailing newline\n",
    b"x",
    b"'",
    b"'s",
    b" 's 't",
    "\u00e9".encode(),
    b"\x00 nul and \x01\x02 controls \x7f del",
]


def decode_like_lib(b):
    """Every byte that does not start a well-formed UTF-8 sequence -> U+FFFD."""
    out, i = [], 0
    while i < len(b):
        c = b[i]
        if c < 0x80:
            out.append(chr(c))
            i += 1
            continue
        if 0xC2 <= c < 0xE0:
            n, lo = 2, 0x80
        elif 0xE0 <= c < 0xF0:
            n, lo = 3, 0x800
        elif 0xF0 <= c < 0xF5:
            n, lo = 4, 0x10000
        else:
            out.append('\ufffd')
            i += 1
            continue
        seq = b[i:i + n]
        ok = len(seq) == n and all(0x80 <= x < 0xC0 for x in seq[1:])
        if ok:
            v = c & (0x7F >> n)
            for x in seq[1:]:
                v = (v << 6) | (x & 0x3F)
            ok = lo <= v <= 0x10FFFF and not (0xD800 <= v <= 0xDFFF)
        if ok:
            out.append(chr(v))
            i += n
        else:
            out.append('\ufffd')
            i += 1
    return ''.join(out)


def main():
    texts = [decode_like_lib(t) for t in TEXTS]
    req = json.dumps({'pkg': refpkg.package_dir('gpt-3-encoder'), 'texts': texts})
    res = json.loads(subprocess.run(['node', os.path.join(HERE, 'ref_gpt2.js')], input=req, check=True,
                                    capture_output=True, text=True).stdout)
    data = os.path.join(HERE, 'data')
    with open(os.path.join(data, 'texts.bin'), 'wb') as f:
        for t in TEXTS:
            f.write(struct.pack('<I', len(t)) + t)

    def write_lines(name, rows):
        with open(os.path.join(data, name), 'w') as f:
            for r in rows:
                f.write(','.join(str(x) for x in r) + '\n')

    write_lines('gpt2_ids.txt', res['ids'])
    for name, rows in res['splits'].items():
        write_lines('split_%s.txt' % name, rows)
    print('%d texts, %d GPT-2 ids' % (len(TEXTS), sum(len(r) for r in res['ids'])))


if __name__ == '__main__':
    main()
