#!/usr/bin/env python3
"""check_snippets.py DOC.md EXAMPLES_DIR MODEL.gguf -- every code block of DOC.md whose
first line says "complete program: COMMAND" is written to the file COMMAND compiles
(generate.c, generate.cpp, ...) and COMMAND is run as written by bash, in a scratch
directory holding a copy of examples/textdiff.hpp and model.gguf (a link to MODEL).
pkg-config must already find libtextdiff (an installed prefix, or the build tree's
meson-uninstalled directory); LD_LIBRARY_PATH is the caller's. C++ blocks are skipped
when there is no c++ compiler. Exit status 1 when a block fails or none is found."""
import os
import re
import shutil
import subprocess
import sys
import tempfile


def blocks(text):
    for m in re.finditer(r'```(c|cpp)\n(.*?)```', text, re.S):
        first = m.group(2).splitlines()[0]
        cmd = re.search(r'complete program:\s*(.*?)\s*(\*/)?$', first)
        if cmd:
            yield m.group(1), m.group(2), cmd.group(1)


def main():
    doc, examples, model = sys.argv[1:4]
    with open(doc, encoding='utf-8') as f:
        found = list(blocks(f.read()))
    if not found:
        print('no "complete program" block in %s' % doc)
        return 1
    bad = 0
    for lang, code, cmd in found:
        if lang == 'cpp' and not shutil.which('c++'):
            print('skip (no c++): %s' % cmd)
            continue
        source = re.search(r'\b(\w+\.(?:c|cpp))\b', cmd).group(1)
        with tempfile.TemporaryDirectory() as tmp:
            with open(os.path.join(tmp, source), 'w', encoding='utf-8') as f:
                f.write(code)
            shutil.copy(os.path.join(examples, 'textdiff.hpp'), tmp)
            os.symlink(os.path.abspath(model), os.path.join(tmp, 'model.gguf'))
            strict = cmd.replace('cc ', 'cc -Wall -Wextra -Werror ', 1) if lang == 'c' else \
                cmd.replace('c++ ', 'c++ -Wall -Wextra -Werror ', 1)
            if '&& ./' not in strict:  # compile-only commands: run the program too
                strict += ' && ./%s model.gguf' % source.rsplit('.', 1)[0]
            r = subprocess.run(['bash', '-c', strict], cwd=tmp, capture_output=True, text=True, errors='replace', timeout=300)
            ok = r.returncode == 0 and r.stdout.strip()
            print('%s %s (%s)' % ('ok  ' if ok else 'FAIL', cmd, source))
            if not ok:
                print(r.stdout + r.stderr)
                bad += 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
