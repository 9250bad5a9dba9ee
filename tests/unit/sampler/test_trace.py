#!/usr/bin/env python3
"""test_trace.py TEXTDIFF -- `textdiff generate --trace FILE.json` writes valid
JSON with one entry per sampler step, each step's canvas is the previous one
plus its recorded changes, and the tokens committed (or revised) step by step
add up to exactly the generated tokens (stdlib only). Fails without
the llama.cpp fixture."""
import json
import os
import subprocess
import sys
import tempfile

exe = sys.argv[1]
model = os.path.join(os.environ.get("TDIFF_FIXTURES", "tests/fixtures"), "llada-tiny.gguf")
if not os.path.exists(model):
    print("error: no fixture", model)
    sys.exit(1)

failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print("FAIL:", what)


cases = [  # (extra args, steps expected in the trace)
    (["--steps", "8", "-n", "16"], 8),
    (["--steps", "8", "-n", "16", "--block", "8", "--temperature", "0.7", "--seed", "3"], 8),
    (["--steps", "6", "-n", "12", "--strategy", "mask_predict"], 6),
]
with tempfile.TemporaryDirectory() as tmp:
    for args, want_steps in cases:
        path = os.path.join(tmp, "trace.json")
        base = [exe, "generate", model, "-p", "It is a truth", "--no-cut"] + args
        r = subprocess.run(base + ["--trace", path, "--json"], capture_output=True, text=True)
        check(r.returncode == 0, f"{args}: exit {r.returncode}: {r.stderr}")
        if r.returncode:
            continue
        tokens = json.loads(r.stdout)["tokens"]
        with open(path, encoding="utf-8") as f:
            t = json.load(f)  # valid JSON or an exception fails the test
        steps = t["steps"]
        check(len(steps) == want_steps == t["n_steps"], f"{args}: {len(steps)} steps, want {want_steps}")
        check([s["step"] for s in steps] == list(range(want_steps)), f"{args}: step indices")
        n, mask, start = t["canvas_length"], t["mask_id"], t["region_start"]
        canvas = list(t["initial"])
        committed_at = {}
        for s in steps:
            check(len(s["ids"]) == len(s["pieces"]) == len(s["confidence"]) == n, f"{args}: row lengths")
            for p in s["remasked"]:
                committed_at.pop(p, None)
            for p in s["committed"]:
                check(canvas[p] == mask and s["ids"][p] != mask, f"{args}: commit at {p} was not mask->token")
                committed_at[p] = s["ids"][p]
            for p in s["revised"]:
                check(canvas[p] not in (mask, s["ids"][p]), f"{args}: revision at {p} was not token->other")
                committed_at[p] = s["ids"][p]
            # replaying the changes over the previous canvas gives this step's canvas
            for p in s["committed"] + s["revised"]:
                canvas[p] = s["ids"][p]
            for p in s["remasked"]:
                canvas[p] = mask
            check(canvas == s["ids"], f"{args}: step {s['step']} canvas is not previous + commits")
            for p in s["committed"]:
                c = s["confidence"][p]
                check(c is None or isinstance(c, (int, float)), f"{args}: confidence type")
        gen = [committed_at.get(p) for p in range(start, n)]
        check(gen == tokens, f"{args}: commits {gen} != generated {tokens}")
        check(t["result"] == tokens and isinstance(t["status"], str), f"{args}: result {t['result']}")
        # the same run without --trace gives the same tokens (tracing observes only)
        r2 = subprocess.run(base + ["--json"], capture_output=True, text=True)
        check(r2.returncode == 0 and json.loads(r2.stdout)["tokens"] == tokens, f"{args}: trace changed tokens")
        # --show with stdout not a terminal: plain output, no escape sequences
        r3 = subprocess.run(base + ["--show"], capture_output=True)
        check(r3.returncode == 0 and b"\x1b" not in r3.stdout, f"{args}: --show on a pipe is not plain")
print("trace checks:", "ok" if not failures else f"{failures} failed")
sys.exit(1 if failures else 0)
