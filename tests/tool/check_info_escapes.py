#!/usr/bin/env python3
"""check_info_escapes.py TEXTDIFF -- `textdiff info --meta --tensors` shows what a
file holds without letting it drive the terminal (finding 5 of issue 22): a GGUF
whose architecture, metadata keys, string values and tensor names carry terminal
escapes (ESC sequences, BEL, an 8-bit CSI, a UTF-8 C1 control, a bidi override)
is listed with every one of them written as \\xNN, and no control byte but the
newline reaches stdout. Standard library only."""
import os
import struct
import subprocess
import sys
import tempfile

ESC_TITLE = b"\x1b]0;owned\x07"       # sets the window title
CLEAR = b"\x1b[2J"                    # clears the screen
CSI8 = b"\x9b"                        # 8-bit CSI (not UTF-8)
C1_UTF8 = "\u009b".encode()           # the same control, UTF-8 encoded
BIDI = "\u202e".encode()              # right-to-left override


def gguf_str(b):
    return struct.pack("<Q", len(b)) + b


def crafted():
    kv = [
        (b"general.architecture", 8, gguf_str(b"evil" + ESC_TITLE)),
        (b"general.name", 8, gguf_str(b"name" + CLEAR + BIDI)),
        (b"key" + CLEAR + b"x", 4, struct.pack("<I", 1)),
        (b"key" + CSI8 + b"y", 4, struct.pack("<I", 2)),
        (b"key" + C1_UTF8 + BIDI + b"z", 8, gguf_str(b"v" + ESC_TITLE)),
    ]
    tensors = [b"t" + CLEAR, b"u" + C1_UTF8]
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kv))
    for key, typ, val in kv:
        out += gguf_str(key) + struct.pack("<I", typ) + val
    for i, name in enumerate(tensors):  # 1-D F32 tensors of 8 values, 32 bytes apart
        out += gguf_str(name) + struct.pack("<IQIQ", 1, 8, 0, 32 * i)
    out += b"\0" * (-len(out) % 32)
    return out + b"\0" * (32 * len(tensors))


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "evil.gguf")
        with open(path, "wb") as f:
            f.write(crafted())
        run = subprocess.run([exe, "info", path, "--meta", "--tensors"], capture_output=True, timeout=60)
    out = run.stdout
    if run.returncode != 0:
        sys.exit(f"textdiff info failed ({run.returncode}): {run.stderr.decode(errors='replace')}")
    bad = sorted({c for c in out if (c < 0x20 and c != 0x0A) or c == 0x7F})
    for needle, what in ((CSI8, "8-bit CSI"), (C1_UTF8, "UTF-8 C1 control"), (BIDI, "bidi override")):
        if needle in out:
            bad.append(what)
    if bad:
        sys.exit(f"control bytes reached the terminal: {bad}\n{out!r}")
    for shown in (b"\\x1b]0;owned\\x07", b"\\x1b[2J", b"\\x9b", b"\\xc2\\x9b", b"\\xe2\\x80\\xae"):
        if shown not in out:
            sys.exit(f"{shown!r} is not shown escaped:\n{out.decode(errors='replace')}")
    print("textdiff info: every control from the file is escaped")


if __name__ == "__main__":
    main()
