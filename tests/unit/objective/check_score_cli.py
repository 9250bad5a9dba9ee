#!/usr/bin/env python3
"""`textdiff score` end to end on the llada-tiny fixture (stdlib only).

Checks: the JSON fields; the bound per token lies within 0.5 nats of ln(V - 1) for this
random-weight model (near-uniform predictions); the deterministic method is reproducible
and independent of the thread count; for a model without time conditioning the
quadrature bound is the same under every schedule (only the t it is told changes);
exp(nelbo) is the perplexity bound; bad usage exits with 2.
Usage: check_score_cli.py TEXTDIFF_EXE
"""
import json
import math
import os
import subprocess
import sys
import tempfile


def main():
    exe = sys.argv[1]
    fixtures = os.environ.get("TDIFF_FIXTURES") or os.path.join(
        os.environ["TDIFF_SOURCE_ROOT"], "..", "shared", "fixtures")
    model = os.path.join(fixtures, "llada-tiny.gguf")
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("The quick brown fox jumps over the lazy dog. Diffusion denoises text.\n")
        text = f.name

    def score(*extra):
        out = subprocess.run([exe, "score", model, text, "--json", *extra], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"textdiff score {' '.join(extra)} failed ({out.returncode}): {out.stderr}")
        return json.loads(out.stdout)

    try:
        a = score("--samples", "16")
        for key in ("nelbo_nats_per_token", "perplexity_bound", "tokens", "nelbo_nats_total", "method"):
            if key not in a:
                sys.exit(f"missing {key} in {a}")
        if a["tokens"] <= 0 or abs(a["nelbo_nats_total"] / a["tokens"] - a["nelbo_nats_per_token"]) > 1e-5:
            sys.exit(f"inconsistent totals: {a}")
        if abs(a["nelbo_nats_per_token"] - math.log(2047)) > 0.5:
            sys.exit(f"per-token bound {a['nelbo_nats_per_token']} is far from ln 2047")
        if abs(math.exp(a["nelbo_nats_per_token"]) - a["perplexity_bound"]) > 1e-3 * a["perplexity_bound"]:
            sys.exit(f"perplexity bound is not exp(nelbo): {a}")
        b = score("--samples", "16", "--threads", "2")
        c = score("--samples", "16", "--schedule", "linear")
        if a["nelbo_nats_total"] != b["nelbo_nats_total"]:
            sys.exit(f"thread count changed the result: {a} vs {b}")
        if a["nelbo_nats_total"] != c["nelbo_nats_total"]:
            sys.exit(f"schedule changed the bound of a t-free model: {a} vs {c}")
        bad = subprocess.run([exe, "score", model], capture_output=True, text=True)
        if bad.returncode != 2:
            sys.exit(f"missing FILE should exit 2, got {bad.returncode}")
    finally:
        os.unlink(text)
    print("ok", a)


if __name__ == "__main__":
    main()
