#!/usr/bin/env python3
"""check_deps.py BUILD_DIR -- the module graph of lib/ points one way.

Two graphs are built and checked (docs/architecture.md explains the layers):

  calls     file A -> file B when an object of A references a symbol that B
            defines (`nm` over the objects compile_commands.json names: every
            call, every table of function pointers, every global);
  includes  file A -> file B when A has `#include "B"` (headers are resolved
            against lib/ and A's own folder).

It fails (exit 1), listing each offence, when
  - two files of lib/ depend on each other in a loop (a strongly connected
    component of more than one file, in either graph), or
  - a file depends on a module above its own in LAYERS (a module may use its
    own files and the modules below it, never the ones above).
"""
import json
import os
import re
import subprocess
import sys

# Bottom to top. A module may depend only on itself and the modules before it.
LAYERS = ['core', 'simd', 'model', 'tokenizer', 'schedule', 'noise', 'transition', 'softmask', 'denoiser',
          'objective', 'sampler']


def module_of(path):
    parts = path.split('/')
    return parts[1] if len(parts) > 2 and parts[0] == 'lib' else None


def call_graph(build, root):
    db = json.load(open(os.path.join(build, 'compile_commands.json')))
    objects = {}
    for e in db:
        src = os.path.relpath(os.path.join(e['directory'], e['file']), root)
        if src.startswith('lib/') and src.endswith('.c'):
            objects[src] = os.path.join(e['directory'], e['output'])
    defined, undefined = {}, {}
    for src, obj in objects.items():
        out = subprocess.run(['nm', '--defined-only', '-g', obj], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 3:
                defined.setdefault(f[2], src)
        out = subprocess.run(['nm', '-u', obj], capture_output=True, text=True, check=True).stdout
        undefined[src] = {line.split()[-1] for line in out.splitlines() if line.strip()}
    graph = {src: set() for src in objects}
    for src, syms in undefined.items():
        for sym in syms:
            dst = defined.get(sym)
            if dst and dst != src:
                graph[src].add(dst)
    return graph


def include_graph(root):
    graph = {}
    lib = os.path.join(root, 'lib')
    for d, _, files in os.walk(lib):
        for name in files:
            if not name.endswith(('.c', '.h')):
                continue
            path = os.path.relpath(os.path.join(d, name), root)
            edges = set()
            for m in re.finditer(r'^\s*#\s*include\s+"([^"]+)"', open(os.path.join(root, path)).read(), re.M):
                for cand in (os.path.join(os.path.dirname(path), m.group(1)), os.path.join('lib', m.group(1))):
                    if os.path.exists(os.path.join(root, cand)):
                        edges.add(os.path.normpath(cand))
                        break
            graph[path] = edges
    return graph


def cycles(graph):
    """Strongly connected components with more than one node (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def layering(graph, what):
    bad = []
    for src, dsts in sorted(graph.items()):
        a = module_of(src)
        for dst in sorted(dsts):
            b = module_of(dst)
            if a is None or b is None or a == b:
                continue
            if a not in LAYERS or b not in LAYERS:
                bad.append('%s: %s -> %s: module not in LAYERS' % (what, src, dst))
            elif LAYERS.index(b) > LAYERS.index(a):
                bad.append('%s: %s (%s) -> %s (%s): up the layers' % (what, src, a, dst, b))
    return bad


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else 'build'
    root = os.environ.get('TDIFF_SOURCE_ROOT', os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
    calls, includes = call_graph(build, root), include_graph(root)
    problems = []
    for what, g in (('calls', calls), ('includes', includes)):
        for comp in cycles(g):
            problems.append('%s: a loop between %s' % (what, ', '.join(comp)))
        problems += layering(g, what)
    n_call = sum(len(v) for v in calls.values())
    n_inc = sum(len(v) for v in includes.values())
    print('%d files, %d call edges, %d include edges' % (len(calls), n_call, n_inc))
    for p in problems:
        print(p)
    print('%d problems' % len(problems))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
