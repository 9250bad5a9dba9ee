#!/usr/bin/env python3
"""Train, evaluate, sample and export the autoregressive baseline `models/austen-ar.gguf` (card:
models/austen-ar.md): the bundled model's network, data and tokenizer with causal attention and next-token
prediction, written as llama.cpp's `llama` architecture.

Owns: the next-token objective on lm_common's transformer (causal mask), the exact held-out perplexity,
greedy / temperature sampling, and the `llama` GGUF export.

Conventions (what the C runtime must do to reproduce the numbers; docs/model-format.md, `llama`):
  BOS      every training window starts with <|endoftext|> (id 4094, BOS = EOS): input [BOS, w_0 .. w_{L-2}],
           targets [w_0 .. w_{L-1}] for a window w of L = 256 tokens at a random offset of the training
           stream (books joined by the same id). So `tokenizer.ggml.add_bos_token = true`: a prompt is
           [BOS] + its tokens, and a text is scored from BOS.
  logits   position i predicts the token at i + 1 (the llama convention; no diffusion.shift_logits key).
  score    exactly `textdiff score`'s windows (consecutive 256-token windows of heldout-plain.txt tokenized
           without special tokens, the last one shorter), each scored on its own from BOS:
           NLL = sum_i -log p(w_i | BOS, w_<i), perplexity = exp(total NLL / tokens). Exact, no estimator.
  file     `llama` keys and tensor names as llama.cpp's convert_hf_to_gguf.py writes them (key order too);
           RoPE "normal" (llama.cpp's LLAMA_ROPE_TYPE_NORM for llama): we train in that layout, so Q/K need
           no permutation (a Hugging Face export would apply the inverse of the converter's `permute`).

--check-lib: libtextdiff loads the exported `llama` file and its logits are compared with this script's.
--self-check: the batched causal forward equals recomputing every prefix on its own (no look-ahead).
"""
import argparse
import json
import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lm_common import (CHAT_TEMPLATE, Lib, Transformer, add_tensors, add_train_args, causal_mask,  # noqa: E402
                       file_rounded, file_type, has_budget, load_ckpt, load_corpus, model_config, n_params,
                       random_windows, score_windows, tdiff_writer, text_chars, train_loop, ttype_arg)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import gguf  # noqa: E402


# ------------------------------------------------------------------------------------------------ objective

def with_bos(w, bos):
    """(B, L) windows -> (B, L) inputs [BOS, w_0 .. w_{L-2}]."""
    return torch.cat([torch.full_like(w[:, :1], bos), w[:, :-1]], dim=1)


def ar_step(model, a, train_ids, bos):
    def step(gen):
        w = random_windows(train_ids, a.batch, a.seq, gen)  # (B, L)
        logits = model(with_bos(w, bos), causal_mask(a.seq))  # (B, L, V)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w.reshape(-1)), w.numel()
    return step


def window_nll(model, wins, bos, batch=16):
    """Exact NLL (nats) of every window scored from BOS; equal lengths batched. Returns a float64 array."""
    out = np.zeros(len(wins))
    model.eval()
    with torch.no_grad():
        for L in sorted({len(w) for w in wins}, reverse=True):
            idx = [i for i, w in enumerate(wins) if len(w) == L]
            for s in range(0, len(idx), batch):
                chunk = idx[s:s + batch]
                w = torch.from_numpy(np.stack([wins[i] for i in chunk]).astype(np.int64))
                logits = model(with_bos(w, bos), causal_mask(L))
                ce = F.cross_entropy(logits.transpose(1, 2).double(), w, reduction="none").sum(1)
                out[chunk] = ce.numpy()
    model.train()
    return out


def heldout_windows(ids, seq, max_windows=None):
    n = len(ids) // seq if max_windows is None else min(len(ids) // seq, max_windows)
    return [ids[i * seq:(i + 1) * seq] for i in range(n)]


def self_check(model, ids, bos, n=24):
    """max |logit difference| between the batched causal forward and recomputing each prefix alone."""
    w = torch.from_numpy(ids[:n].astype(np.int64))[None]
    x = with_bos(w, bos)
    with torch.no_grad():
        full = model(x, causal_mask(n))[0]
        diff = max(float((model(x[:, :i + 1], causal_mask(i + 1))[0, i] - full[i]).abs().max()) for i in range(n))
    return diff


# ------------------------------------------------------------------------------------------------ sample

def generate(model, prompt_ids, n_new, bos, temperature=0.0, seed=0, forbid=()):
    """[BOS] + prompt, then n_new tokens: arg-max (temperature 0; ties to the lowest id) or a draw from
    softmax(logits / temperature) with torch's generator seeded `seed`. Stops at the context length."""
    gen = torch.Generator().manual_seed(seed)
    x = [bos] + list(prompt_ids)
    model.eval()
    with torch.no_grad():
        for _ in range(n_new):
            if len(x) >= model.cfg["n_ctx"]:
                break
            lg = model(torch.tensor(x)[None], causal_mask(len(x)))[0, -1].double()
            for f in forbid:
                lg[f] = -math.inf
            if temperature == 0:
                nxt = int(torch.argmax(lg))
            else:
                nxt = int(torch.multinomial(torch.softmax(lg / temperature, -1), 1, generator=gen))
            x.append(nxt)
    model.train()
    return x[1 + len(prompt_ids):]


# ------------------------------------------------------------------------------------------------ export

def size_label(n):
    """general.size_label as llama.cpp's gguf.size_label formats a parameter count (e.g. 5.3M)."""
    for div, suf in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if n >= div:
            return "%.1f%s" % (n / div, suf)
    return str(n)


def export_gguf(model, cfg, tok, path, name, ttype):
    """The `llama` file, keys in the order convert_hf_to_gguf.py writes them for a LlamaForCausalLM."""
    w = gguf.Writer()
    w.add("general.architecture", "llama")
    w.add("general.type", "model")
    w.add("general.name", name)
    w.add("general.size_label", size_label(n_params(model)))
    a = "llama."
    w.add(a + "block_count", cfg["n_layer"], gguf.U32)
    w.add(a + "context_length", cfg["n_ctx"], gguf.U32)
    w.add(a + "embedding_length", cfg["n_embd"], gguf.U32)
    w.add(a + "feed_forward_length", cfg["n_ff"], gguf.U32)
    w.add(a + "attention.head_count", cfg["n_head"], gguf.U32)
    w.add(a + "attention.head_count_kv", cfg["n_head"], gguf.U32)
    w.add(a + "rope.freq_base", cfg["rope_base"], gguf.F32)
    w.add(a + "attention.layer_norm_rms_epsilon", cfg["eps"], gguf.F32)
    w.add("general.file_type", file_type(ttype), gguf.U32)
    w.add(a + "vocab_size", cfg["n_vocab"], gguf.U32)
    w.add(a + "rope.dimension_count", cfg["n_embd"] // cfg["n_head"], gguf.U32)
    w.add("general.quantization_version", 2, gguf.U32)  # GGML_QUANT_VERSION, written by every converter run
    tok.add_gguf_keys(w, gguf, mask=False, add_bos=True)
    w.add("tokenizer.chat_template", CHAT_TEMPLATE)
    add_tensors(w, model, ttype)
    w.write(path)


def check_library(lib_path, model, tok, ttype, ids, path):
    """libtextdiff's forward on the exported `llama` file `path` against this script's on one n_ctx-token
    window from BOS (the file's rounding applied to the reference). Returns max |logit diff|."""
    x = [tok.eot] + [int(v) for v in ids[:model.cfg["n_ctx"] - 1]]
    lib = Lib(lib_path)
    m = lib.load(path)
    got = lib.logits(m, x, model.cfg["n_vocab"])
    lib.free(m)
    with torch.no_grad():
        ref = file_rounded(model, ttype)(torch.tensor(x)[None], causal_mask(len(x)))[0].numpy()
    # The library shifts a causal model's logits (row p predicts token p, from hidden state p - 1; llama.cpp's
    # diffusion convention), this script does not (row p predicts token p + 1).
    return float(np.abs(got[1:] - ref[:-1]).max())


# ------------------------------------------------------------------------------------------------ main

PROMPTS = ["It is a truth universally acknowledged", "Mr. Darcy", "Emma Woodhouse, handsome, clever,",
           "\"My dear"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_train_args(ap)
    ap.add_argument("--work", default=".cache/ar-model", help="checkpoint, loss.csv, results.json")
    ap.add_argument("--gguf", default="models/austen-ar.gguf")
    ap.add_argument("--dtype", default="f16", choices=("f32", "f16"), help="weights in the GGUF")
    ap.add_argument("--skip-train", action="store_true", help="load <work>/model.pt instead of training")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--gen-len", type=int, default=48)
    ap.add_argument("--check-lib", help="libtextdiff.so: cross-check the exported weights' logits")
    a = ap.parse_args()
    if not a.skip_train and not has_budget(a):
        ap.error("give --steps, --train-seconds, --tokens or --replay-lr (or --skip-train)")
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    os.makedirs(a.work, exist_ok=True)
    tok, train_ids, held_ids = load_corpus(a.data)
    bos = tok.eot
    ttype = ttype_arg(a.dtype)

    if a.skip_train:
        model, cfg, info, _ = load_ckpt(a.work, Transformer)
    else:
        cfg = model_config(a, len(tok.tokens))
        model = Transformer(cfg)
        model.init_weights(torch.Generator().manual_seed(a.seed))
        print("model: %d parameters, cfg %s" % (n_params(model), cfg), flush=True)
        print("command: %s" % " ".join(sys.argv), flush=True)
        print("self-check (batched causal vs prefix by prefix): max |diff| %.2e" %
              self_check(model, held_ids, bos), flush=True)
        quick32 = heldout_windows(held_ids, cfg["seq"], 32)
        quick = lambda: float(window_nll(model, quick32, bos).sum()) / (32 * cfg["seq"])  # noqa: E731
        info = train_loop(model, cfg, a, a.work, ar_step(model, a, train_ids, bos), quick)
    print("training: %s" % info, flush=True)

    t0 = time.time()
    res = {"params": n_params(model), "train": info}
    wins = heldout_windows(held_ids, cfg["seq"])
    nll = window_nll(model, wins, bos).sum() / (len(wins) * cfg["seq"])
    res.update(heldout_nll=nll, heldout_ppl=math.exp(nll), heldout_tokens=len(wins) * cfg["seq"],
               heldout_bits_per_char=nll * len(held_ids) / text_chars(a.data, "heldout") / math.log(2))
    print("held-out (heldout.txt, %d windows of %d): NLL %.4f nats/token -> perplexity %.2f" %
          (len(wins), cfg["seq"], nll, math.exp(nll)), flush=True)
    swins, n_plain, chars = score_windows(a.data, tok, cfg["n_ctx"])
    for label, net in (("checkpoint", model), ("file", file_rounded(model, ttype))):
        s = window_nll(net, swins, bos).sum() / n_plain
        res["score_windows_nll_" + label] = s
        print("score windows (%d tokens, as textdiff score), %s weights: NLL %.4f nats/token -> perplexity "
              "%.2f, %.3f bits/char" % (n_plain, label, s, math.exp(s), s * n_plain / chars / math.log(2)),
              flush=True)
    res["eval_seconds"] = time.time() - t0

    samples = []
    for k, pr in enumerate(PROMPTS):
        ids = tok.encode(pr)
        for temp, seed in ((0.0, 0), (0.7, 1 + k)):
            out = generate(model, ids, a.gen_len, bos, temp, seed, forbid=(tok.eot,))
            samples.append({"prompt": pr, "temperature": temp, "seed": seed, "prompt_ids": ids, "ids": out,
                            "text": pr + tok.decode(out)})
            print("--- %r (temperature %g)\n%s" % (pr, temp, pr + tok.decode(out)), flush=True)
    res["samples"] = samples
    with open(os.path.join(a.work, "results.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)

    out = os.path.join(a.work, "check.gguf") if a.no_export else a.gguf
    if not a.no_export or a.check_lib:
        export_gguf(model, cfg, tok, out, "austen-ar-L%d-d%d" % (cfg["n_layer"], cfg["n_embd"]), ttype)
        print("wrote %s (%d bytes)" % (out, os.path.getsize(out)), flush=True)
    if a.check_lib:
        diff = check_library(a.check_lib, model, tok, ttype, held_ids, out)
        print("libtextdiff check (the llama file, %d positions from BOS): max |logit diff| %.3g" %
              (cfg["n_ctx"], diff), flush=True)
        if not diff < 1e-3:
            sys.exit("libtextdiff check failed")


if __name__ == "__main__":
    main()
