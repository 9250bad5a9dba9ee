#!/usr/bin/env python3
"""check_help.py PROGRAM... -- each benchmark answers --help with its usage on stdout
and exit 0, at once (without --help handling, bench_forward ran the whole benchmark)."""
import subprocess
import sys

bad = 0
for exe in sys.argv[1:]:
    r = subprocess.run([exe, '--help'], capture_output=True, timeout=10)
    ok = r.returncode == 0 and r.stdout.startswith(b'usage: ')
    print('%s %s --help' % ('ok  ' if ok else 'FAIL', exe))
    bad += not ok
sys.exit(1 if bad else 0)
