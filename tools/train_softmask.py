#!/usr/bin/env python3
"""Learn the soft-mask gate (raw_s, raw_c, raw_a; k fixed) of the bundled model with its network frozen.

Owns: the soft-mask training recipe of Hersche et al. 2025 applied to models/austen-llada.gguf's network,
the held-out comparison plain vs soft-masked second pass, and writing the four `tdiff.softmask.*` keys into
the GGUF (every other key and tensor copied byte for byte).

Recipe (per batch): t ~ U(0,1) stratified, mask with p = (1 - 1e-3) t + 1e-3 (as tools/train_default.py);
pass 1 on the plain-masked windows without gradient gives logits; pass 2 feeds every masked position
e = (1 - λ) E[mask] + λ Σ_j π_j E[v_j] built from the pass-1 logits with exactly docs/softmask.md's formula
(mask logit dropped; ν = Σ p log p; λ = s·sigmoid(a(ν − c)); top-k ties to the lower id); loss = MDLM NELBO
of pass 2 (Σ_masked −log p(x0)/p over tokens). Only raw_s/raw_c/raw_a receive gradients.

--gen-eval TEXTDIFF skips training and compares `TEXTDIFF generate` plain vs --soft-mask k on held-out
prompts (self-scored NLL of the continuations, repeat rate). Numbers and commands: models/README.md.

Single-threaded (shared machine), fixed seed.
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402
from train_default import LLaDA, MASK_EPS  # noqa: E402

# lib/softmask defaults (the paper's Dream example): s = 0.25, c = -1, a = 5
RAW_S0, RAW_C0, RAW_A0 = -1.0986122886681098, 0.541324854612918, 4.993239250550511


def gate(raw):
    s = torch.sigmoid(raw[0])
    c = -F.softplus(raw[1])
    a = F.softplus(raw[2])
    return s, c, a


def soft_inputs(model, xt, m, logits1, raw, k, mask_id):
    """Pass-2 input embeddings: plain embeddings except at masked positions (m), which get the soft mask."""
    E = model.tok_embd.weight
    emb = model.tok_embd(xt)
    l = logits1[m].clone()
    l[:, mask_id] = -float("inf")  # the mask is never a prediction
    logp = torch.log_softmax(l.double(), dim=-1)
    p = logp.exp()
    nu = torch.where(p > 0, p * logp, torch.zeros_like(p)).sum(-1)
    # top-k, ties to the lower id: stable sort of -l
    idx = torch.sort(-l, dim=-1, stable=True).indices[:, :k]
    pi = torch.softmax(torch.gather(l, 1, idx), dim=-1)
    s, c, a = gate(raw)
    lam = (s * torch.sigmoid(a * (nu - c))).float()[:, None]
    mix = (pi[:, :, None] * E[idx]).sum(1)
    e = (1 - lam) * E[mask_id][None, :] + lam * mix
    out = emb.clone()
    out[m] = e
    return out, lam.detach()


def hidden_from_embd(model, x):
    for b in model.blocks:
        x = b(x, model.cos, model.sin)
    return model.output_norm(x)


def nelbo_pair(model, x0, t, mask_id, gen, raw, k, with_grad):
    """(plain numerator, soft numerator, masked count, mean λ) on one batch with one shared mask draw."""
    p = (1 - MASK_EPS) * t + MASK_EPS
    m = torch.rand(x0.shape, generator=gen) < p[:, None]
    xt = torch.where(m, torch.full_like(x0, mask_id), x0)
    w = (1.0 / p)[:, None].expand_as(m)[m]
    with torch.no_grad():
        logits1 = model(xt)
        plain = (F.cross_entropy(logits1[m], x0[m], reduction="none") * w).sum()
    with torch.set_grad_enabled(with_grad):
        emb, lam = soft_inputs(model, xt, m, logits1, raw, k, mask_id)
        h = hidden_from_embd(model, emb)
        soft = (F.cross_entropy(model.output(h[m]), x0[m], reduction="none") * w).sum()
    return plain, soft, m.sum(), lam.mean().item() if lam.numel() else 0.0


def load_from_gguf(path):
    g = gguf.read(path)
    kv = {k: v[1] for k, v in g.kv.items()}
    A = "llada."
    cfg = {"n_vocab": g.tensor("token_embd.weight")["ne"][1], "n_embd": kv[A + "embedding_length"],
           "n_layer": kv[A + "block_count"], "n_head": kv[A + "attention.head_count"],
           "n_ff": kv[A + "feed_forward_length"], "n_ctx": kv[A + "context_length"],
           "seq": kv[A + "context_length"], "eps": float(kv[A + "attention.layer_norm_rms_epsilon"]),
           "rope_base": float(kv[A + "rope.freq_base"])}
    model = LLaDA(cfg)
    T = {t["name"]: torch.from_numpy(gguf.dequantize(t).copy()) for t in g.tensors}
    sd = {"tok_embd.weight": T["token_embd.weight"], "output_norm.weight": T["output_norm.weight"],
          "output.weight": T["output.weight"]}
    names = {"attn_norm": "attn_norm", "wq": "attn_q", "wk": "attn_k", "wv": "attn_v", "wo": "attn_output",
             "ffn_norm": "ffn_norm", "w_gate": "ffn_gate", "w_up": "ffn_up", "w_down": "ffn_down"}
    for i in range(cfg["n_layer"]):
        for ours, theirs in names.items():
            sd["blocks.%d.%s.weight" % (i, ours)] = T["blk.%d.%s.weight" % (i, theirs)]
    model.load_state_dict(sd)
    mask_id = int(np.argmax(np.array(kv["tokenizer.ggml.tokens"]) == "<|mdm_mask|>"))
    return model, cfg, mask_id


def evaluate(model, ids, seq, n_samples, mask_id, seed, raw, k, max_windows, batch=16):
    """Held-out NELBO (nats/token), plain vs soft second pass, on the same windows, t values and masks."""
    gen = torch.Generator().manual_seed(seed)
    n_win = min(len(ids) // seq, max_windows)
    wins = torch.from_numpy(ids[: n_win * seq].reshape(n_win, seq).astype(np.int64))
    u = torch.rand(n_win, generator=gen)
    rows = torch.arange(n_win).repeat_interleave(n_samples)
    ts = torch.tensor([(j + u[w].item()) / n_samples for w in range(n_win) for j in range(n_samples)])
    tp = ts_ = 0.0
    lams = []
    for s in range(0, len(rows), batch):
        a, b, _, lm = nelbo_pair(model, wins[rows[s:s + batch]], ts[s:s + batch], mask_id, gen, raw, k, False)
        tp += a.item()
        ts_ += b.item()
        lams.append(lm)
    n = n_samples * n_win * seq
    return tp / n, ts_ / n, float(np.mean(lams)), n_win * seq


def write_gguf(src, dst, raw, k):
    g = gguf.read(src)
    w = gguf.Writer(alignment=g.alignment, version=g.version)
    for key, (vt, val, et) in g.kv.items():
        if key.startswith("tdiff.softmask."):
            continue
        if vt == gguf.ARRAY:
            w.add_array(key, val, et)
        else:
            w.add(key, val, vt)
    w.add("tdiff.softmask.raw_s", float(raw[0]), gguf.F32)
    w.add("tdiff.softmask.raw_c", float(raw[1]), gguf.F32)
    w.add("tdiff.softmask.raw_a", float(raw[2]), gguf.F32)
    w.add("tdiff.softmask.k", int(k), gguf.U32)
    for t in g.tensors:
        w.add_raw_tensor(t["name"], t["type"], t["ne"], t["data"])
    w.write(dst)


def gen_eval(model, mask_id, held_ids, tool, model_path, k, n_prompts, prompt_len, gen_len, steps, block, temp, seed):
    """Generate with the C tool from n_prompts held-out prompts, plain vs --soft-mask k, and score each
    continuation with the frozen network given all context: every generated token is masked alone and
    -log p(token) read off (a pseudo-log-likelihood); also the rate of immediately repeated tokens."""
    import json
    import subprocess
    stride = len(held_ids) // n_prompts
    res = {}
    for label, extra in (("plain", []), ("soft-mask %d" % k, ["--soft-mask", str(k)])):
        nll, rep, outs = [], [], []
        for i in range(n_prompts):
            pr = [int(v) for v in held_ids[i * stride:i * stride + prompt_len]]
            cmd = [tool, "generate", model_path, "--prompt-ids", ",".join(map(str, pr)), "-n", str(gen_len),
                   "--steps", str(steps), "--block", str(block), "--json", "--threads", "1", "--no-cut",
                   "--temperature", str(temp), "--seed", str(seed + i)] + extra
            gen_ids = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)["tokens"]
            outs.append(gen_ids)
            seq = torch.tensor(pr + gen_ids)
            L = len(gen_ids)
            batch = seq.repeat(L, 1)
            pos = torch.arange(L) + len(pr)
            batch[torch.arange(L), pos] = mask_id
            with torch.no_grad():
                lg = model(batch)[torch.arange(L), pos]
            lg[:, mask_id] = -float("inf")
            nll.append(F.cross_entropy(lg, seq[pos], reduction="none").mean().item())
            full = pr[-1:] + gen_ids
            rep.append(float(np.mean([full[j] == full[j - 1] for j in range(1, len(full))])))
        res[label] = (float(np.mean(nll)), float(np.std(nll) / math.sqrt(len(nll))), float(np.mean(rep)), outs)
    same = sum(a == b for a, b in zip(res["plain"][3], res["soft-mask %d" % k][3]))
    tok_diff = float(np.mean([np.mean(np.array(a) != np.array(b))
                              for a, b in zip(res["plain"][3], res["soft-mask %d" % k][3])]))
    for label, (m, se, r, _) in res.items():
        print("gen %-12s steps %d block %d temp %g: pseudo-NLL %.4f +- %.4f nats/token, repeat rate %.4f" %
              (label, steps, block, temp, m, se, r), flush=True)
    print("identical continuations %d/%d, tokens differing %.4f" % (same, n_prompts, tok_diff), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/austen-llada.gguf")
    ap.add_argument("--data", default=".cache/austen")
    ap.add_argument("--k", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=0.05)
    ap.add_argument("--train-seconds", type=float, default=360)
    ap.add_argument("--max-steps", type=int, default=100000)
    ap.add_argument("--eval-windows", type=int, default=64)
    ap.add_argument("--eval-samples", type=int, default=2)
    ap.add_argument("--gen-eval", metavar="TEXTDIFF", default=None,
                    help="skip training: compare `TEXTDIFF generate --model` plain vs --soft-mask k")
    ap.add_argument("--gen-prompts", type=int, default=32)
    ap.add_argument("--gen-steps", type=int, default=8)
    ap.add_argument("--gen-temp", type=float, default=0.0)
    ap.add_argument("--out", default=None, help="write the model with the learned keys here")
    a = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    model, cfg, mask_id = load_from_gguf(a.model)
    model.eval()
    for prm in model.parameters():
        prm.requires_grad_(False)
    train_ids = np.load(os.path.join(a.data, "train.ids.npy"))
    held_ids = np.load(os.path.join(a.data, "heldout.ids.npy"))
    if a.gen_eval:
        gen_eval(model, mask_id, held_ids, a.gen_eval, a.model, a.k, a.gen_prompts, 32, 32, a.gen_steps, 32,
                 a.gen_temp, a.seed)
        return
    raw = torch.tensor([RAW_S0, RAW_C0, RAW_A0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([raw], lr=a.lr)
    gen = torch.Generator().manual_seed(a.seed + 1)
    t0 = time.time()
    step = 0
    print("mask id %d, cfg %s" % (mask_id, cfg), flush=True)
    while step < a.max_steps and time.time() - t0 < a.train_seconds:
        starts = torch.randint(0, len(train_ids) - a.seq - 1, (a.batch,), generator=gen)
        x0 = torch.stack([torch.from_numpy(train_ids[s:s + a.seq].astype(np.int64)) for s in starts.tolist()])
        u = torch.rand(1, generator=gen).item()
        t = (torch.arange(a.batch, dtype=torch.float32) + u) / a.batch
        plain, soft, _, lm = nelbo_pair(model, x0, t, mask_id, gen, raw, a.k, True)
        loss = soft / x0.numel()
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
        s, c, aa = gate(raw.detach())
        print("step %4d  %5.0fs  plain %.4f  soft %.4f  mean-lambda %.3f  s %.4f c %.4f a %.4f" %
              (step, time.time() - t0, plain.item() / x0.numel(), loss.item(), lm, s, c, aa), flush=True)
    r = raw.detach()
    s, c, aa = gate(r)
    print("learned raw_s %.6f raw_c %.6f raw_a %.6f -> s %.6f c %.6f a %.6f (k %d, %d steps)" %
          (r[0], r[1], r[2], s, c, aa, a.k, step), flush=True)
    r32 = torch.tensor(np.float32(r.numpy()).astype(np.float64))  # the file stores f32
    for name, rr in (("default", torch.tensor([RAW_S0, RAW_C0, RAW_A0], dtype=torch.float64)), ("learned", r32)):
        pl, so, lm, n = evaluate(model, held_ids, a.seq, a.eval_samples, mask_id, a.seed + 99, rr, a.k,
                                 a.eval_windows)
        print("held-out (%d tokens x %d t): plain %.4f  soft[%s] %.4f nats/token  (mean lambda %.3f)" %
              (n, a.eval_samples, pl, name, so, lm), flush=True)
    if a.out:
        write_gguf(a.model, a.out, np.float32(r.numpy()), a.k)
        print("wrote", a.out, flush=True)


if __name__ == "__main__":
    main()
