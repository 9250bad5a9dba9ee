#!/usr/bin/env python3
"""plot_trace.py TRACE.json OUT.png -- draws a `textdiff generate --trace` record:
one column per canvas position, one row per step; a cell is coloured when the
position is committed (or revised) at that step, by the confidence the sampler
gave it, and labelled with the token's text. Needs Debian's python3-matplotlib:
`./scripts/setup-deps.sh plot` installs it (run this with /usr/bin/python3)."""
import argparse
import json
import math
import sys

try:
    import matplotlib
except ImportError:
    sys.exit("plot_trace.py: matplotlib is missing: run ./scripts/setup-deps.sh plot "
             "(Debian's python3-matplotlib), then /usr/bin/python3 tools/plot_trace.py ...")

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trace", help="JSON written by textdiff generate/infill --trace")
    ap.add_argument("png", help="output image")
    ap.add_argument("--all", action="store_true", help="show the prompt/context columns too")
    a = ap.parse_args()
    with open(a.trace, encoding="utf-8") as f:
        t = json.load(f)
    steps = t["steps"]
    first = 0 if a.all else t["region_start"]
    cols = list(range(first, t["canvas_length"]))
    # grid[step][col] = confidence of the commit (NaN: nothing happened there)
    grid = [[math.nan] * len(cols) for _ in steps]
    labels = []
    for si, s in enumerate(steps):
        for p in s["committed"] + s.get("revised", []):
            if p < first:
                continue
            c = s["confidence"][p]
            grid[si][p - first] = c if c is not None else 0.0
            labels.append((si, p - first, s["pieces"][p] or ""))
    w = max(6.0, 0.45 * len(cols) + 2)
    h = max(3.0, 0.32 * len(steps) + 1.5)
    fig, ax = plt.subplots(figsize=(min(w, 40), min(h, 40)))
    im = ax.imshow(grid, aspect="auto", cmap="viridis", interpolation="nearest")
    for si, ci, text in labels:
        text = text.replace("\n", "\\n").strip() or "␣"
        ax.text(ci, si, text[:8], ha="center", va="center", fontsize=6, color="white")
    ax.set_xlabel("canvas position")
    ax.set_ylabel("step")
    ax.set_xticks(range(0, len(cols), max(1, len(cols) // 16)))
    ax.set_xticklabels([str(cols[i]) for i in range(0, len(cols), max(1, len(cols) // 16))])
    ax.set_title(f"{len(steps)} steps: which token was committed when (colour: confidence)")
    fig.colorbar(im, ax=ax, label="confidence at commit")
    fig.tight_layout()
    fig.savefig(a.png, dpi=120)


if __name__ == "__main__":
    main()
