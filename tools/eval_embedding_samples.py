#!/usr/bin/env python3
"""Sample the continuous embedding model with `textdiff generate --strategy embedding` and measure the samples.

Quality is judged by an independent model: the bundled masked-diffusion model (models/austen-llada.gguf,
trained separately on the same corpus) scores every sample with `textdiff score` (negative ELBO in nats per
token, an upper bound on its negative log-likelihood; deterministic quadrature). Reference rows put those
numbers on a scale: held-out Austen windows (real text), the masked model's own samples, tokens drawn from
the training unigram distribution, and uniform random tokens. Diversity: distinct-1/2 (unique n-grams over
all n-grams of the row's samples) and the share of a sample taken by its most frequent token.

numpy only; drives the built tool (--tool). Output: a Markdown table on stdout, everything in --json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_bpe import Tokenizer  # noqa: E402


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("failed (%d): %s\n%s" % (p.returncode, " ".join(cmd), p.stderr))
    return p.stdout


def generate(tool, model, args, seed):
    out = json.loads(run([tool, "generate", model, "--json", "--seed", str(seed)] + args))
    return out


def score(tool, judge, text, window):
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, encoding="utf-8") as f:
        f.write(text)
        path = f.name
    try:
        out = json.loads(run([tool, "score", judge, path, "--json", "--window", str(window)]))
    finally:
        os.unlink(path)
    return out


def distinct(samples, n):
    grams = [tuple(s[i:i + n]) for s in samples for i in range(len(s) - n + 1)]
    return len(set(grams)) / max(1, len(grams))


def top_share(s):
    _, counts = np.unique(np.asarray(s), return_counts=True)
    return float(counts.max()) / len(s)


def measure(name, texts, ids_list, tool, judge, tok, window, seconds=None):
    nel = []
    for text in texts:
        r = score(tool, judge, text, window)
        nel.append(r["nelbo_nats_per_token"])
    ids_re = [tok.encode(t) for t in texts]
    row = {"name": name, "n": len(texts), "judge_nelbo_mean": float(np.mean(nel)),
           "judge_nelbo_sd": float(np.std(nel, ddof=1)) if len(nel) > 1 else 0.0,
           "distinct1": distinct(ids_list, 1), "distinct2": distinct(ids_list, 2),
           "top_token_share": float(np.mean([top_share(s) for s in ids_list])),
           "tokens_per_sample": float(np.mean([len(s) for s in ids_re])), "samples": texts[:3]}
    if seconds is not None:
        row["seconds_per_sample"] = seconds
    print("%-50s judge NELBO %.3f ± %.3f  distinct-1 %.3f distinct-2 %.3f  top-token %.3f%s" %
          (name, row["judge_nelbo_mean"], row["judge_nelbo_sd"], row["distinct1"], row["distinct2"],
           row["top_token_share"], "  %.2f s/sample" % seconds if seconds is not None else ""), flush=True)
    return row


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tool", default="build/src/textdiff")
    ap.add_argument("--model", default="models/austen-dlm.gguf")
    ap.add_argument("--judge", default="models/austen-llada.gguf")
    ap.add_argument("--data", default=".cache/austen")
    ap.add_argument("--n", type=int, default=16, help="samples per row")
    ap.add_argument("--length", type=int, default=64)
    ap.add_argument("--json", help="write every row here")
    a = ap.parse_args()

    tok = Tokenizer.load(os.path.join(a.data, "bpe.json"))
    held = np.load(os.path.join(a.data, "heldout.ids.npy"))
    train = np.load(os.path.join(a.data, "train.ids.npy"))
    V = len(tok.tokens)
    specials = (tok.eot, tok.mask)
    rng = np.random.default_rng(7)
    rows = []
    L = a.length

    def sampled_rows(name, model, args):
        texts, ids, t0 = [], [], time.time()
        for seed in range(a.n):
            out = generate(a.tool, model, ["-p", "", "-n", str(L), "--no-cut"] + args, seed)
            ids.append(out["tokens"][-L:])
            texts.append(out["text"])
        rows.append(measure(name, texts, ids, a.tool, a.judge, tok, L, (time.time() - t0) / a.n))

    # References: real text, the masked model's own samples, unigram and uniform tokens.
    starts = rng.choice(len(held) - L, a.n, replace=False)
    wins = [held[s:s + L].tolist() for s in starts]
    rows.append(measure("held-out text (real Austen)", [tok.decode(w) for w in wins], wins, a.tool, a.judge,
                        tok, L))
    # scored by itself, so this row is flattered; temperature 1 is the model's own distribution
    sampled_rows("masked model (the judge itself): llada 64 steps, block 8, temperature 1", a.judge,
                 ["--strategy", "llada", "--steps", "64", "--block", "8", "--temperature", "1"])
    counts = np.bincount(train, minlength=V).astype(np.float64)
    counts[list(specials)] = 0
    uni = [rng.choice(V, L, p=counts / counts.sum()).tolist() for _ in range(a.n)]
    rows.append(measure("unigram tokens", [tok.decode(s) for s in uni], uni, a.tool, a.judge, tok, L))
    allowed = np.setdiff1d(np.arange(V), specials)
    unif = [rng.choice(allowed, L).tolist() for _ in range(a.n)]
    rows.append(measure("uniform random tokens", [tok.decode(s) for s in unif], unif, a.tool, a.judge, tok, L))

    # The continuous model, unconditional.
    emb = ["--strategy", "embedding"]
    for label, extra in (("DDPM 200, temperature 1", ["--steps", "200", "--temperature", "1"]),
                         ("DDPM 200, temperature 1, --clamp", ["--steps", "200", "--temperature", "1", "--clamp"]),
                         ("DDIM 200, temperature 1", ["--steps", "200", "--temperature", "1", "--ddim"]),
                         ("DDPM 1000, temperature 1", ["--steps", "1000", "--temperature", "1"]),
                         ("DDPM 50, temperature 1", ["--steps", "50", "--temperature", "1"]),
                         ("DDPM 200, temperature 0.5", ["--steps", "200", "--temperature", "0.5"]),
                         ("DDPM 200, temperature 0.5, --clamp", ["--steps", "200", "--temperature", "0.5",
                                                                  "--clamp"]),
                         ("DDPM 200, temperature 0 (arg-max x̂0)", ["--steps", "200"])):
        sampled_rows("embedding: " + label, a.model, emb + extra)

    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
