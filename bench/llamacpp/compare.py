#!/usr/bin/python3
"""compare.py -- milliseconds per forward pass of `textdiff generate` against
llama.cpp's `llama-diffusion-cli` on the same GGUF files, same canvas, same
steps and threads, the two tools alternating run by run (so both see the same
machine load). Needs a llama.cpp build (not part of this repository).

Per run, ours: forward_seconds / forward_passes from `--json`; llama.cpp:
(total time - steps * sampling time per step) / steps from its last line.
Both run greedy LLaDA-style block sampling (block 32) on a 256-token canvas:
llama.cpp computes logits for every canvas row, we for the block's masked rows.

Usage: compare.py --llama-bin DIR --textdiff build/src/textdiff [--threads 2] [--steps 32]
                  [--runs 5] [--poll 50] MODEL.gguf [MODEL.gguf ...]
Prints one line per run and, per model, the best and the median of each tool
and their ratio (llama.cpp / ours: above 1 means we are faster).
"""
import argparse
import json
import os
import re
import statistics
import subprocess

PROMPT = "It is a truth universally acknowledged that a single man"  # llama.cpp tokenizes it
PROMPT_IDS = ",".join(str(i) for i in range(1, 17))                  # ours: 16 ids, a 240-token answer


def ours(tool, model, steps, threads):
    out = subprocess.run([tool, "generate", model, "--prompt-ids", PROMPT_IDS, "--compat", "llamacpp", "-n", "256",
                          "--steps", str(steps), "--block", "32", "--threads", str(threads), "--json"],
                         check=True, capture_output=True, text=True, errors="replace").stdout
    j = json.loads(out)
    return 1e3 * j["forward_seconds"] / j["forward_passes"]


def llama(bindir, model, steps, threads, poll):
    out = subprocess.run([os.path.join(bindir, "llama-diffusion-cli"), "-m", model, "-p", PROMPT, "-ub", "256",
                          "-b", "256", "-c", "256", "--diffusion-steps", str(steps), "--diffusion-block-length", "32",
                          "-t", str(threads), "-tb", str(threads), "--temp", "0", "--poll", str(poll)],
                         check=True, capture_output=True, text=True, errors="replace")
    m = re.search(r"total time: ([\d.]+)ms, time per step: ([\d.]+)ms, sampling time per step: ([\d.]+)ms",
                  out.stdout + out.stderr)
    if not m:
        raise RuntimeError("no timing line from llama-diffusion-cli:\n" + out.stderr[-2000:])
    return float(m.group(2)) - float(m.group(3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--llama-bin", required=True)
    ap.add_argument("--textdiff", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--poll", type=int, default=50)
    ap.add_argument("models", nargs="+")
    a = ap.parse_args()
    summary = []
    for model in a.models:
        t_ours, t_llama = [], []
        for r in range(a.runs):
            t_llama.append(llama(a.llama_bin, model, a.steps, a.threads, a.poll))
            t_ours.append(ours(a.textdiff, model, a.steps, a.threads))
            print("%s run %d: llama.cpp %.1f ms/forward, textdiff %.1f ms/forward" %
                  (os.path.basename(model), r + 1, t_llama[-1], t_ours[-1]), flush=True)
        summary.append((os.path.basename(model), min(t_llama), min(t_ours), statistics.median(t_llama),
                        statistics.median(t_ours)))
    print("\n| model | llama.cpp best | textdiff best | ratio (best) | llama.cpp median | textdiff median | ratio (median) |")
    print("|---|---|---|---|---|---|---|")
    for name, lb, ob, lm, om in summary:
        print("| %s | %.1f ms | %.1f ms | **%.2f** | %.1f ms | %.1f ms | %.2f |" % (name, lb, ob, lb / ob, lm, om, lm / om))


if __name__ == "__main__":
    main()
