#!/usr/bin/env python3
"""check_api_doc.py HEADER API_MD -- fails (exit 1) listing every public
function (TDIFF_API) of the header that docs/api.md does not mention, and
every function api.md names that the header no longer declares."""
import re
import sys

header = open(sys.argv[1], encoding="utf-8").read()
doc = open(sys.argv[2], encoding="utf-8").read()
declared = set(re.findall(r"TDIFF_API\s+[^;(]*?\b(tdiff_\w+)\s*\(", header))
documented = set(re.findall(r"^\| `(tdiff_\w+)`", doc, re.M))
missing = sorted(declared - documented)
stale = sorted(documented - declared)
for name in missing:
    print("not in api.md:", name)
for name in stale:
    print("in api.md but not in the header:", name)
print(f"{len(declared)} public functions, {len(missing)} undocumented, {len(stale)} stale")
sys.exit(1 if missing or stale else 0)
