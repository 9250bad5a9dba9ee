#!/usr/bin/env python3
"""dll_exports.py OBJDUMP DLL HEADER -- the DLL exports exactly the header's functions.

Reads the export table of DLL (`OBJDUMP -p`: the [Ordinal/Name Pointer] Table) and
every function the header declares with TDIFF_API, and fails (exit 1) unless the two
name sets are equal and every name starts with tdiff_ (no tdiff__ internals, no
libgcc or winpthreads symbols). Used by .ci/windows.sh.
"""
import re
import subprocess
import sys


def exports(objdump, dll):
    text = subprocess.run([objdump, "-p", dll], check=True, capture_output=True, text=True).stdout
    names, inside = [], False
    for line in text.splitlines():
        if "[Ordinal/Name Pointer] Table" in line:
            inside = True
            continue
        if inside:
            m = re.match(r"\s*\[\s*\d+\]\s+(\S+)", line)
            if not m:
                break
            names.append(m.group(1))
    return names


def declared(header):
    src = open(header, encoding="utf-8").read()
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)        # comments
    src = re.sub(r"^\s*#.*$", " ", src, flags=re.M)          # preprocessor lines (the macro's own definitions)
    return set(re.findall(r"\bTDIFF_API\b[^;{}()]*?\b(tdiff_\w+)\s*\(", src))


def main():
    objdump, dll, header = sys.argv[1:4]
    got = exports(objdump, dll)
    want = declared(header)
    bad = [n for n in got if not n.startswith("tdiff_") or n.startswith("tdiff__")]
    missing = sorted(want - set(got))
    extra = sorted(set(got) - want)
    print(f"dll_exports: {len(got)} exported, {len(want)} declared with TDIFF_API")
    for what, names in (("not tdiff_*", bad), ("declared, not exported", missing), ("exported, not declared", extra)):
        if names:
            print(f"dll_exports: {what}: {' '.join(names[:20])}{' ...' if len(names) > 20 else ''}")
    return 1 if bad or missing or extra or not got else 0


if __name__ == "__main__":
    sys.exit(main())
