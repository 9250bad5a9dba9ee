#!/usr/bin/env python3
"""Train, evaluate and export a small continuous embedding diffusion model (Diffusion-LM style) for the
`embedding` sampler (models/README-austen-dlm.md is its model card).

Owns: the time-conditioned `tdiff` DiT in PyTorch (exactly the graph lib/denoiser runs for
`general.architecture = "tdiff"`, `tdiff.time.type = "dit"`: pre-LayerNorm without bias, adaLN
shift/scale/gate from a sinusoidal time embedding, NeoX RoPE, GELU-tanh FFN with biases, output adaLN and a
separate head), its training loop, held-out denoising metrics, and the GGUF export through tools/gguf.py.

Model and objective (docs/algorithms.md §6; Li et al. 2022 "Diffusion-LM"; Dieleman et al. 2022 "CDCD"):
  x0 = E[w]                      token embeddings, each row rescaled to norm --embd-norm (no collapse). The
                                 norm sets how long a token stays recoverable from x_t by matching alone
                                 (matched-filter estimate): at sqrt(d) = 11.3 up to t ~ 0.8 on this schedule,
                                 leaving little for context; the default 0.5 sqrt(d) ends it near t ~ 0.4
  x_t = sqrt(ab(t)) x0 + sqrt(1 - ab(t)) eps,   ab(t) = 1 - sqrt(t + 1e-4)   (the `sqrt` schedule)
  logits = f(x_t, t);  loss = cross-entropy(logits, w) on the noised positions
The sampler forms x̂0 = sum_v softmax(logits)_v E[v], the minimum-MSE estimate when the softmax is calibrated,
which the cross-entropy trains for; the same loss at small t is Diffusion-LM's rounding term. Half of the
windows keep a clean prefix or span (not noised, no loss) so prompts and infilling are in distribution:
the sampler holds caller-fixed positions at their clean embeddings. Up to half of the noised positions of a
window are pure noise (--blank-frac), the continuous counterpart of a mask: without them the network decoded
each position from its own vector and ignored context (models/austen-dlm.md, "What did not work"). The
network is called with t in [0, 1] (the sampler passes k/T).

Pipeline: data (.cache/austen from tools/fetch_austen.py + tools/train_bpe.py, the bundled model's 4096-token
BPE) -> train (AdamW, warmup + cosine over --steps or --train-seconds) -> eval (held-out cross-entropy and
token accuracy of argmax(logits) at fixed t) -> export (GGUF v3, F32) -> --check-lib (libtextdiff's
forward_embd on noisy vectors against this network).
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "2")

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402
from train_default import load_corpus, lr_at, n_params, rope_tables  # noqa: E402

SQRT_S = 1e-4          # the sqrt schedule's offset (lib/schedule, Diffusion-LM)
EVAL_T = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)


def alpha_bar(t):
    return (1.0 - torch.sqrt(t + SQRT_S)).clamp(min=1e-6)


# ------------------------------------------------------------------------------------------------ model

def time_features(t, n_freq, max_period):
    half = n_freq // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    a = t[:, None].float() * freqs[None, :]
    return torch.cat([torch.cos(a), torch.sin(a)], dim=-1)


def rope_neox(x, cos, sin):
    """x: (B, H, L, hd); rotate i with i + hd/2 (NeoX / rotate_half)."""
    L, h = x.shape[2], x.shape[-1] // 2
    c, s = cos[:L], sin[:L]
    x0, x1 = x[..., :h], x[..., h:]
    return torch.cat([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1)


class LayerNorm(nn.Module):
    """LayerNorm with a weight and no bias (torch 1.13's nn.LayerNorm always has one)."""

    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return F.layer_norm(x, x.shape[-1:], self.weight, None, self.eps)


class Block(nn.Module):
    def __init__(self, d, n_head, n_ff, c_dim):
        super().__init__()
        self.n_head = n_head
        self.attn_norm = LayerNorm(d)
        self.wq = nn.Linear(d, d, bias=False)
        self.wk = nn.Linear(d, d, bias=False)
        self.wv = nn.Linear(d, d, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.ffn_norm = LayerNorm(d)
        self.up = nn.Linear(d, n_ff)
        self.down = nn.Linear(n_ff, d)
        self.adaln = nn.Linear(c_dim, 6 * d)

    def forward(self, x, c, cos, sin):
        B, L, d = x.shape
        hd = d // self.n_head
        sh1, sc1, g1, sh2, sc2, g2 = self.adaln(c)[:, None, :].chunk(6, dim=-1)
        h = self.attn_norm(x) * (1 + sc1) + sh1
        q = rope_neox(self.wq(h).view(B, L, self.n_head, hd).transpose(1, 2), cos, sin)
        k = rope_neox(self.wk(h).view(B, L, self.n_head, hd).transpose(1, 2), cos, sin)
        v = self.wv(h).view(B, L, self.n_head, hd).transpose(1, 2)
        o = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)), dim=-1) @ v  # bidirectional
        x = x + g1 * self.wo(o.transpose(1, 2).reshape(B, L, d))
        h = self.ffn_norm(x) * (1 + sc2) + sh2
        return x + g2 * self.down(F.gelu(self.up(h), approximate="tanh"))


class DiffusionLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d, C = cfg["n_embd"], cfg["c_dim"]
        self.embd_raw = nn.Parameter(torch.empty(cfg["n_vocab"], d))
        self.time_in = nn.Linear(cfg["freq_dim"], C)
        self.time_out = nn.Linear(C, C)
        self.blocks = nn.ModuleList(Block(d, cfg["n_head"], cfg["n_ff"], C) for _ in range(cfg["n_layer"]))
        self.output_norm = LayerNorm(d)
        self.output_adaln = nn.Linear(C, 2 * d)
        self.output = nn.Linear(d, cfg["n_vocab"])
        cos, sin = rope_tables(cfg["n_ctx"], d // cfg["n_head"], cfg["rope_base"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def init_weights(self, gen):
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                elif "adaln" in name:  # adaLN-zero (DiT): every block starts as the identity
                    p.zero_()
                elif name.endswith(".bias"):
                    p.zero_()
                else:
                    # the raw scale of the (normalised) embedding rows sets their Adam step size
                    p.normal_(0.0, 0.2 if name == "embd_raw" else 0.02, generator=gen)

    def embeddings(self):
        E = self.embd_raw
        return E * (self.cfg["embd_norm"] / E.norm(dim=1, keepdim=True).clamp(min=1e-6))

    def cond(self, t):
        f = time_features(t, self.cfg["freq_dim"], self.cfg["max_period"])
        return F.silu(self.time_out(F.silu(self.time_in(f))))

    def forward(self, x, t):
        """x: (B, L, d) input vectors, t: (B,) -> logits (B, L, V)."""
        c = self.cond(t)
        for b in self.blocks:
            x = b(x, c, self.cos, self.sin)
        sh, sc = self.output_adaln(c)[:, None, :].chunk(2, dim=-1)
        return self.output(self.output_norm(x) * (1 + sc) + sh)


# ------------------------------------------------------------------------------------------------ objective

def clean_mask(B, L, frac, gen):
    """(B, L) bool: positions kept clean. `frac` of the rows keep a prefix (1..L/2 tokens) or a random span."""
    keep = torch.zeros(B, L, dtype=torch.bool)
    pick = torch.rand(B, generator=gen)
    for b in range(B):
        if pick[b] >= frac:
            continue
        n = int(torch.randint(1, L // 2 + 1, (1,), generator=gen))
        start = 0 if pick[b] < frac / 2 else int(torch.randint(0, L - n + 1, (1,), generator=gen))
        keep[b, start:start + n] = True
    return keep


def noised(model, w, t, keep, gen, blank=None):
    """x_t for token windows w at times t (B,); kept positions stay at their clean embedding, `blank`
    positions (bool (B, L), optional) are pure noise, i.e. at t = 1 whatever the row's t."""
    x0 = model.embeddings()[w]
    ab = alpha_bar(t)[:, None, None]
    eps = torch.randn(x0.shape, generator=gen)
    xt = ab.sqrt() * x0 + (1 - ab).sqrt() * eps
    if blank is not None:
        xt = torch.where(blank[..., None], eps, xt)
    return torch.where(keep[..., None], x0, xt)


def blank_mask(B, L, max_frac, gen):
    """(B, L) bool: per row, a uniform share in [0, max_frac) of the positions. A token at pure noise can only
    be predicted from its context: without these the network learned to decode each position from its own
    noisy vector and barely used attention (checked: the same loss with the context replaced by noise)."""
    if max_frac <= 0:
        return None
    share = torch.rand(B, 1, generator=gen) * max_frac
    return torch.rand(B, L, generator=gen) < share


def loss_terms(model, w, t, keep, gen, blank=None):
    logits = model(noised(model, w, t, keep, gen, blank), t)
    m = ~keep
    ce = F.cross_entropy(logits[m], w[m], reduction="none")
    acc = (logits[m].argmax(-1) == w[m]).float()
    return ce, acc


@torch.no_grad()
def evaluate(model, ids, seq, seed, max_windows=256, batch=32):
    """Held-out denoising at each t of EVAL_T, fixed noise seed (numbers compare across runs):
      ce, acc          cross-entropy (nats/token) and arg-max accuracy, every position noised at t;
      mid, mid_noctx,  cross-entropy of the middle position at t with the rest of the window at t, at pure
      mid_clean        noise, and clean: how much the network uses context (equal = not at all)."""
    model.eval()
    gen = torch.Generator().manual_seed(seed)
    n_win = min(len(ids) // seq, max_windows)
    wins = torch.from_numpy(ids[: n_win * seq].reshape(n_win, seq))
    mid = seq // 2
    out = {}
    for tv in EVAL_T:
        sums, n, n_mid = {"ce": 0.0, "acc": 0.0, "mid": 0.0, "mid_noctx": 0.0, "mid_clean": 0.0}, 0, 0
        for i in range(0, n_win, batch):
            w = wins[i:i + batch]
            B = w.shape[0]
            t = torch.full((B,), tv)
            x = noised(model, w, t, torch.zeros(w.shape, dtype=torch.bool), gen)
            logits = model(x, t)
            sums["ce"] += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), w.reshape(-1), reduction="sum"))
            sums["acc"] += float((logits.argmax(-1) == w).sum())
            sums["mid"] += float(F.cross_entropy(logits[:, mid], w[:, mid], reduction="sum"))
            noise = torch.randn(x.shape, generator=gen)
            noise[:, mid] = x[:, mid]
            sums["mid_noctx"] += float(F.cross_entropy(model(noise, t)[:, mid], w[:, mid], reduction="sum"))
            clean = model.embeddings()[w]
            clean[:, mid] = x[:, mid]
            sums["mid_clean"] += float(F.cross_entropy(model(clean, t)[:, mid], w[:, mid], reduction="sum"))
            n += w.numel()
            n_mid += B
        out["%.2f" % tv] = {k: v / (n if k in ("ce", "acc") else n_mid) for k, v in sums.items()}
    model.train()
    return out


def train(model, cfg, a, train_ids, work):
    gen = torch.Generator().manual_seed(a.seed + 1)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and n != "embd_raw"]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and n != "embd_raw")]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.98))
    total = a.steps
    csv = open(os.path.join(work, "loss.csv"), "w")
    csv.write("step,lr,loss,acc,seconds\n")
    t_start, train_time, ema = time.time(), 0.0, None
    max_start = len(train_ids) - cfg["seq"] - 1
    step = 0
    while True:
        if total is not None and step >= total:
            break
        t0 = time.time()
        if total is None and step == 25:  # fix the step count from measured speed, then schedule normally
            per = train_time / 20.0
            total = max(step + 1, int(a.train_seconds / per))
            print("step count fixed at %d (%.3f s/step); repeat with --steps %d" % (total, per, total), flush=True)
        L = cfg["seq"]
        if torch.rand(1, generator=gen).item() < a.short_frac:
            L = int(torch.randint(16, cfg["seq"], (1,), generator=gen).item())
        starts = torch.randint(0, max_start, (a.batch,), generator=gen)
        w = torch.from_numpy(np.stack([train_ids[s:s + L] for s in starts.tolist()]))
        u = torch.rand(1, generator=gen)
        t = (u + torch.arange(a.batch) / a.batch) % 1.0  # stratified over the batch
        keep = clean_mask(a.batch, L, a.cond_frac, gen)
        lr = lr_at(step, total if total is not None else 10 ** 9, a.lr, a.warmup, a.lr_floor)
        for g in opt.param_groups:
            g["lr"] = lr
        blank = blank_mask(a.batch, L, a.blank_frac, gen)
        ce, acc = loss_terms(model, w, t, keep, gen, blank)
        loss = ce.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        dt = time.time() - t0
        if step >= 5:
            train_time += dt
        lv = loss.item()
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        csv.write("%d,%.6g,%.5f,%.4f,%.2f\n" % (step, lr, lv, float(acc.mean()), time.time() - t_start))
        if step % 50 == 0:
            csv.flush()
            print("step %d/%s lr %.2e loss %.4f (ema %.4f) acc %.3f  %.0fs" %
                  (step, total, lr, lv, ema, float(acc.mean()), time.time() - t_start), flush=True)
        step += 1
    csv.close()
    return {"steps": step, "train_seconds": round(train_time, 1), "wall_seconds": round(time.time() - t_start, 1),
            "batch": a.batch, "seq": cfg["seq"], "final_loss_ema": ema}


# ------------------------------------------------------------------------------------------------ export

def export_gguf(model, cfg, tok, path, name):
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    E = model.embeddings().detach().float().numpy()
    d = E.shape[1]
    w = gguf.Writer()
    w.add("general.architecture", "tdiff")
    w.add("general.name", name)
    w.add("general.file_type", 0, gguf.U32)
    p = "tdiff."
    w.add(p + "context_length", cfg["n_ctx"], gguf.U32)
    w.add(p + "embedding_length", d, gguf.U32)
    w.add(p + "block_count", cfg["n_layer"], gguf.U32)
    w.add(p + "feed_forward_length", cfg["n_ff"], gguf.U32)
    w.add(p + "attention.head_count", cfg["n_head"], gguf.U32)
    w.add(p + "norm.type", "layer")
    w.add(p + "norm.epsilon", 1e-5, gguf.F32)
    w.add(p + "norm.position", "pre")
    w.add(p + "ffn.type", "gelu_tanh")
    w.add(p + "rope.type", "neox")
    w.add(p + "rope.freq_base", cfg["rope_base"], gguf.F32)
    w.add(p + "time.type", "dit")
    w.add(p + "time.embedding_length", cfg["c_dim"], gguf.U32)
    w.add(p + "time.frequency_dim", cfg["freq_dim"], gguf.U32)
    w.add(p + "time.max_period", cfg["max_period"], gguf.F32)
    tok.add_gguf_keys(w, gguf)
    # numpy (out, in) = torch Linear layout; the writer stores ne = (in, out) as ggml expects.
    w.add_tensor("token_embd.weight", E)
    w.add_tensor("time_embd.in.weight", sd["time_in.weight"])
    w.add_tensor("time_embd.in.bias", sd["time_in.bias"])
    w.add_tensor("time_embd.out.weight", sd["time_out.weight"])
    w.add_tensor("time_embd.out.bias", sd["time_out.bias"])
    for i in range(cfg["n_layer"]):
        b, q = "blk.%d." % i, "blocks.%d." % i
        for dst, src in (("attn_norm.weight", "attn_norm.weight"), ("attn_q.weight", "wq.weight"),
                         ("attn_k.weight", "wk.weight"), ("attn_v.weight", "wv.weight"),
                         ("attn_output.weight", "wo.weight"), ("ffn_norm.weight", "ffn_norm.weight"),
                         ("ffn_up.weight", "up.weight"), ("ffn_up.bias", "up.bias"),
                         ("ffn_down.weight", "down.weight"), ("ffn_down.bias", "down.bias"),
                         ("adaln.weight", "adaln.weight"), ("adaln.bias", "adaln.bias")):
            w.add_tensor(b + dst, sd[q + src])
    w.add_tensor("output_norm.weight", sd["output_norm.weight"])
    w.add_tensor("output_adaln.weight", sd["output_adaln.weight"])
    w.add_tensor("output_adaln.bias", sd["output_adaln.bias"])
    w.add_tensor("output.weight", sd["output.weight"])
    w.add_tensor("output.bias", sd["output.bias"])
    w.write(path)


@torch.no_grad()
def check_library(gguf_path, model, ids, seed):
    """libtextdiff's forward_embd on one noisy held-out window (first quarter kept clean) against this
    network: returns max |logit difference| over t in (0.1, 0.5, 0.9)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bindings", "python"))
    import textdiff
    L = model.cfg["seq"]
    w = torch.from_numpy(ids[:L].copy())[None]
    keep = torch.zeros(1, L, dtype=torch.bool)
    keep[0, : L // 4] = True
    gen = torch.Generator().manual_seed(seed)
    worst = 0.0
    with textdiff.Model(gguf_path) as m, textdiff.Denoiser(m, L) as dn:
        for tv in (0.1, 0.5, 0.9):
            t = torch.tensor([tv])
            x = noised(model, w, t, keep, gen)
            ref = model(x, t)[0].numpy()
            ours = dn.forward_embd(x[0].numpy().astype(np.float32), t=tv)
            worst = max(worst, float(np.abs(ours - ref).max()))
    return worst


# ------------------------------------------------------------------------------------------------ main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=".cache/austen")
    ap.add_argument("--work", default=".cache/austen-dlm")
    ap.add_argument("--gguf", default="models/austen-dlm.gguf")
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=128)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-ff", type=int, default=512)
    ap.add_argument("--c-dim", type=int, default=128, help="time-conditioning width")
    ap.add_argument("--freq-dim", type=int, default=128)
    ap.add_argument("--max-period", type=float, default=10000.0)
    ap.add_argument("--embd-norm", type=float, help="norm of every embedding row (default 0.5 sqrt(d))")
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--n-ctx", type=int, default=128)
    ap.add_argument("--rope-base", type=float, default=10000.0)
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-floor", type=float, default=0.05)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wd", type=float, default=0.05)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--short-frac", type=float, default=0.1)
    ap.add_argument("--cond-frac", type=float, default=0.5, help="windows with a clean prefix or span")
    ap.add_argument("--blank-frac", type=float, default=0.5,
                    help="per window, up to this share of positions is pure noise (0 = off)")
    ap.add_argument("--threads", type=int, default=2)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--steps", type=int)
    g.add_argument("--train-seconds", type=float)
    ap.add_argument("--skip-train", action="store_true", help="load <work>/model.pt instead of training")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--check-lib", action="store_true", help="compare libtextdiff's forward_embd after export")
    a = ap.parse_args()
    if not a.skip_train and a.steps is None and a.train_seconds is None:
        ap.error("give --steps or --train-seconds (or --skip-train)")

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    os.makedirs(a.work, exist_ok=True)
    tok, train_ids, held_ids = load_corpus(a.data)

    if a.skip_train:
        ck = torch.load(os.path.join(a.work, "model.pt"))
        cfg, info = ck["cfg"], ck["info"]
        model = DiffusionLM(cfg)
        model.load_state_dict(ck["state"])
    else:
        cfg = {"n_vocab": len(tok.tokens), "n_embd": a.n_embd, "n_layer": a.n_layer, "n_head": a.n_head,
               "n_ff": a.n_ff, "c_dim": a.c_dim, "freq_dim": a.freq_dim, "max_period": a.max_period,
               "n_ctx": a.n_ctx, "seq": a.seq, "rope_base": a.rope_base,
               "embd_norm": a.embd_norm or 0.5 * math.sqrt(a.n_embd)}
        model = DiffusionLM(cfg)
        model.init_weights(torch.Generator().manual_seed(a.seed))
        print("model: %d parameters, cfg %s" % (n_params(model), cfg), flush=True)
        print("command: %s" % " ".join(sys.argv), flush=True)
        info = train(model, cfg, a, train_ids, a.work)
        torch.save({"cfg": cfg, "state": model.state_dict(), "info": info}, os.path.join(a.work, "model.pt"))
    print("training: %s" % info, flush=True)

    t0 = time.time()
    ev = evaluate(model, held_ids, cfg["seq"], a.seed + 99)
    for k, v in ev.items():
        print("held-out t=%s: cross-entropy %.3f nats/token, accuracy %.3f; middle token %.3f, context at pure "
              "noise %.3f, clean context %.3f" % (k, v["ce"], v["acc"], v["mid"], v["mid_noctx"], v["mid_clean"]),
              flush=True)
    res = {"params": n_params(model), "train": info, "heldout_denoising": ev, "eval_seconds": time.time() - t0}

    if not a.no_export:
        export_gguf(model, cfg, tok, a.gguf, "austen-dlm-L%d-d%d" % (cfg["n_layer"], cfg["n_embd"]))
        print("wrote %s (%d bytes)" % (a.gguf, os.path.getsize(a.gguf)), flush=True)
    if a.check_lib:
        diff = check_library(a.gguf, model, held_ids, a.seed)
        res["library_max_abs_logit_diff"] = diff
        print("libtextdiff forward_embd vs PyTorch: max |logit diff| %.3g" % diff, flush=True)
        if not diff < 1e-3:
            sys.exit("libtextdiff check failed")
    with open(os.path.join(a.work, "results.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
