#!/usr/bin/env python3
"""check_experimental_list.py HEADER LIBRARY CC... -- the list of experimental
functions that lib/abi/experimental_suppressions.py hands to the ABI gate is not
empty and is exactly what the header fences: the functions the C preprocessor
declares with -DTDIFF_EXPERIMENTAL and not without it. Every listed function is
exported by LIBRARY (so the suppression names something real). Exit 1 on a mismatch.
"""
import os
import re
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, '..', '..', 'lib', 'abi'))
import experimental_suppressions  # noqa: E402


def declared(header, cc, defines):
    """TDIFF_API function names left after preprocessing the header with `defines`."""
    src = '#include "%s"\n' % os.path.abspath(header)
    out = subprocess.run(cc + ['-E', '-P', '-x', 'c'] + defines + ['-'], input=src, capture_output=True,
                         text=True, check=True).stdout
    names = set()
    for stmt in out.split(';'):  # declarations; typedefs (callback types) are not functions
        m = re.search(r'\b(tdiff_[a-z0-9_]+)\s*\(', stmt)
        if m and 'typedef' not in stmt and '{' not in stmt:
            names.add(m.group(1))
    return names


def exported(library):
    out = subprocess.run(['nm', '-D', '--defined-only', library], capture_output=True, text=True, check=True).stdout
    return {line.split()[2].split('@')[0] for line in out.splitlines() if len(line.split()) == 3}


def main():
    header, library, cc = sys.argv[1], sys.argv[2], sys.argv[3:]
    with open(header, encoding='utf-8') as f:
        listed = experimental_suppressions.experimental_functions(f.read())
    fenced = declared(header, cc, ['-DTDIFF_EXPERIMENTAL']) - declared(header, cc, [])
    problems = []
    if not listed:
        problems.append('the suppression list is empty')
    if len(set(listed)) != len(listed):
        problems.append('the suppression list repeats a name')
    for name in sorted(fenced - set(listed)):
        problems.append('fenced by TDIFF_EXPERIMENTAL but not suppressed: ' + name)
    for name in sorted(set(listed) - fenced):
        problems.append('suppressed but not fenced by TDIFF_EXPERIMENTAL: ' + name)
    for name in sorted(set(listed) - exported(library)):
        problems.append('suppressed but not exported by the library: ' + name)
    for p in problems:
        print(p)
    print('%d experimental functions, %d fenced by the preprocessor, %d problems' % (len(listed), len(fenced),
                                                                                    len(problems)))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
