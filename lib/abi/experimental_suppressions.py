#!/usr/bin/env python3
"""experimental_suppressions.py HEADER [OUT] -- writes the libabigail suppression
specification that keeps the experimental API out of the ABI gate: one
[suppress_function] section (drop = yes) per function the header declares inside an
`#ifdef TDIFF_EXPERIMENTAL` block. lib/abi/check.sh and update.sh both use it, so
the baseline and the comparison leave out exactly the same functions; the header is
the only list. Prints to stdout without OUT. Exit 1 when the header has no
experimental function (a sign the parser or the header broke).
"""
import re
import sys


def experimental_functions(text):
    """Names of the TDIFF_API functions declared inside #ifdef TDIFF_EXPERIMENTAL blocks."""
    names, inside = [], []  # inside: a stack, True where the block is experimental
    decl = ''
    for line in text.splitlines():
        directive = re.match(r'\s*#\s*(\w+)\s*(.*)', line)
        if directive:
            word, rest = directive.groups()
            if word in ('if', 'ifdef', 'ifndef'):
                inside.append(word == 'ifdef' and rest.split()[0:1] == ['TDIFF_EXPERIMENTAL'])
            elif word == 'endif' and inside:
                inside.pop()
            continue
        if any(inside):
            decl += ' ' + re.sub(r'/\*.*?\*/', ' ', line)
    decl = re.sub(r'/\*.*?\*/', ' ', decl, flags=re.S)  # comments spanning lines
    for m in re.finditer(r'TDIFF_API\s+[^;(]*?\b(tdiff_\w+)\s*\(', decl):
        names.append(m.group(1))
    return names


def specification(names, header):
    out = ['# Generated from %s by lib/abi/experimental_suppressions.py -- do not edit.' % header,
           '# The TDIFF_EXPERIMENTAL functions: exported, but not covered by the ABI',
           '# guarantee, so the libabigail gate drops them from both sides.']
    for name in names:
        out += ['', '[suppress_function]', '  symbol_name = %s' % name, '  drop = yes']
    return '\n'.join(out) + '\n'


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__)
    header = sys.argv[1]
    with open(header, encoding='utf-8') as f:
        names = experimental_functions(f.read())
    if not names:
        print('%s: no function inside #ifdef TDIFF_EXPERIMENTAL' % header, file=sys.stderr)
        return 1
    spec = specification(names, 'include/libtextdiff.h')
    if len(sys.argv) == 3:
        with open(sys.argv[2], 'w', encoding='utf-8') as f:
            f.write(spec)
    else:
        sys.stdout.write(spec)
    return 0


if __name__ == '__main__':
    sys.exit(main())
