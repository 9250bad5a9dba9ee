#!/usr/bin/env python3
"""check_api_doc.py HEADER API_MD -- fails (exit 1) listing every public function
(TDIFF_API) of the header that docs/api.md does not mention, every function api.md
names that the header no longer declares, and every function documented on the
wrong side of the experimental line: the functions the header declares inside
`#ifdef TDIFF_EXPERIMENTAL` belong in api.md's sections whose heading starts with
"Experimental", the others in the other sections."""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib', 'abi'))
from experimental_suppressions import experimental_functions  # noqa: E402  (the ABI gate's own parser)


def documented_by_section(doc):
    """{function: True when documented under an '## Experimental...' heading}."""
    out, experimental = {}, False
    for line in doc.splitlines():
        if line.startswith('## '):
            experimental = line[3:].lower().startswith('experimental')
        m = re.match(r'^\| `(tdiff_\w+)`', line)
        if m:
            out[m.group(1)] = experimental
    return out


def main():
    header = open(sys.argv[1], encoding='utf-8').read()
    doc = open(sys.argv[2], encoding='utf-8').read()
    declared = set(re.findall(r'TDIFF_API\s+[^;(]*?\b(tdiff_\w+)\s*\(', header))
    experimental = set(experimental_functions(header))
    documented = documented_by_section(doc)
    problems = []
    for name in sorted(declared - set(documented)):
        problems.append('not in api.md: ' + name)
    for name in sorted(set(documented) - declared):
        problems.append('in api.md but not in the header: ' + name)
    for name in sorted(declared & set(documented)):
        if documented[name] != (name in experimental):
            where = 'an "Experimental" section' if name in experimental else 'a stable section'
            problems.append('%s belongs in %s of api.md' % (name, where))
    for p in problems:
        print(p)
    print(f"{len(declared)} public functions ({len(experimental)} experimental), {len(problems)} problems")
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
