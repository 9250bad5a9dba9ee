#!/usr/bin/env python3
"""Train, evaluate, sample and export the bundled default model (models/README.md is its model card).

Owns: the LLaDA-architecture masked-diffusion LM in PyTorch (exactly the graph llama.cpp's `llada` runs:
pre-norm RMSNorm, RoPE in the "normal" adjacent-pairs convention, no biases, SwiGLU FFN, bidirectional
attention, a separate LM head, logits at position i predict token i), its MDLM/LLaDA training loop, the
held-out NELBO bound, a greedy low-confidence-remasking sampler, and the GGUF export through tools/gguf.py.

Pipeline (each part can be skipped; the checkpoint is the hand-over between parts):
  data   .cache/austen/{train,heldout}.txt from tools/fetch_austen.py, vocabulary from tools/train_bpe.py
  train  AdamW, linear warmup + cosine decay over a fixed number of steps (--steps, or --train-seconds:
         the step count is then fixed from the timing of steps 5-25, before the schedule depends on it, and
         printed so that `--steps N` repeats the run exactly); loss curve to <work>/loss.csv
  eval   held-out NELBO: every non-overlapping window of --seq tokens, --eval-samples stratified t values per
         window with fresh masks (fixed seed); nats/token, perplexity bound exp(NELBO), bits/char
  sample greedy LLaDA low-confidence remasking from a few prompts
  export GGUF v3 with the llada keys and tensor names of tests/fixtures, F32 weights

Single-threaded on purpose (the build machine is shared): torch.set_num_threads(1) and the BLAS/OpenMP
thread variables are pinned before torch is imported.
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

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
from train_bpe import Tokenizer  # noqa: E402

MASK_EPS = 1e-3  # p_mask = (1 - eps) t + eps keeps the 1/p weight finite (LLaDA's forward process)


# ------------------------------------------------------------------------------------------------ model

class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(n_pos, head_dim, base):
    """cos/sin of theta_{p,i} = p * base^(-2i/head_dim), i < head_dim/2 (ggml's rope, normal mode)."""
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(n_pos, dtype=torch.float64)[:, None] * inv[None, :]
    return torch.cos(ang).float(), torch.sin(ang).float()


def apply_rope(x, cos, sin):
    """x: (B, H, L, hd). Normal (GPT-J) convention: rotate the adjacent pairs (x[2i], x[2i+1])."""
    L = x.shape[2]
    x = x.reshape(*x.shape[:-1], -1, 2)
    x0, x1 = x[..., 0], x[..., 1]
    c, s = cos[:L], sin[:L]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, d, n_head, n_ff, eps):
        super().__init__()
        self.n_head = n_head
        self.attn_norm = RMSNorm(d, eps)
        self.wq = nn.Linear(d, d, bias=False)
        self.wk = nn.Linear(d, d, bias=False)
        self.wv = nn.Linear(d, d, bias=False)
        self.wo = nn.Linear(d, d, bias=False)
        self.ffn_norm = RMSNorm(d, eps)
        self.w_gate = nn.Linear(d, n_ff, bias=False)
        self.w_up = nn.Linear(d, n_ff, bias=False)
        self.w_down = nn.Linear(n_ff, d, bias=False)

    def forward(self, x, cos, sin):
        B, L, d = x.shape
        hd = d // self.n_head
        h = self.attn_norm(x)
        q = self.wq(h).view(B, L, self.n_head, hd).transpose(1, 2)
        k = self.wk(h).view(B, L, self.n_head, hd).transpose(1, 2)
        v = self.wv(h).view(B, L, self.n_head, hd).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        att = torch.softmax((q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(hd)), dim=-1)  # no causal mask
        o = (att @ v).transpose(1, 2).reshape(B, L, d)
        x = x + self.wo(o)
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class LLaDA(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        d = cfg["n_embd"]
        self.tok_embd = nn.Embedding(cfg["n_vocab"], d)
        self.blocks = nn.ModuleList(Block(d, cfg["n_head"], cfg["n_ff"], cfg["eps"]) for _ in range(cfg["n_layer"]))
        self.output_norm = RMSNorm(d, cfg["eps"])
        self.output = nn.Linear(d, cfg["n_vocab"], bias=False)
        cos, sin = rope_tables(cfg["n_ctx"], d // cfg["n_head"], cfg["rope_base"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)

    def init_weights(self, gen):
        std = 0.02
        with torch.no_grad():
            for name, p in self.named_parameters():
                if name.endswith("norm.weight"):
                    p.fill_(1.0)
                elif name.endswith("wo.weight") or name.endswith("w_down.weight"):
                    p.normal_(0.0, std / math.sqrt(2 * self.cfg["n_layer"]), generator=gen)
                else:
                    p.normal_(0.0, std, generator=gen)

    def hidden(self, ids):
        x = self.tok_embd(ids)
        for b in self.blocks:
            x = b(x, self.cos, self.sin)
        return self.output_norm(x)

    def forward(self, ids):
        return self.output(self.hidden(ids))


def n_params(model):
    return sum(p.numel() for p in model.parameters())


# ------------------------------------------------------------------------------------------------ objective

def masked_batch(x0, t, mask_id, gen):
    """Forward process: each token masked independently with p = (1 - eps) t + eps."""
    p = (1 - MASK_EPS) * t + MASK_EPS
    m = torch.rand(x0.shape, generator=gen) < p[:, None]
    return torch.where(m, torch.full_like(x0, mask_id), x0), m, p


def nelbo_terms(model, x0, t, mask_id, gen):
    """Sum over the batch of sum_{masked i} -log p(x0_i) / p_mask (the NELBO numerator), and the masked count.
    The LM head runs on masked positions only: the others carry no loss."""
    xt, m, p = masked_batch(x0, t, mask_id, gen)
    h = model.hidden(xt)
    logits = model.output(h[m])
    ce = F.cross_entropy(logits, x0[m], reduction="none")
    w = (1.0 / p)[:, None].expand_as(m)[m]
    return (ce * w).sum(), m.sum()


# ------------------------------------------------------------------------------------------------ data

def load_tokens(data_dir, tok, name):
    cache = os.path.join(data_dir, name + ".ids.npy")
    src = os.path.join(data_dir, name + ".txt")
    bpe = os.path.join(data_dir, "bpe.json")
    if os.path.exists(cache) and os.path.getmtime(cache) > max(os.path.getmtime(src), os.path.getmtime(bpe)):
        return np.load(cache)
    with open(src, encoding="utf-8") as f:
        ids = np.asarray(tok.encode_docs(f.read()), dtype=np.int64)
    np.save(cache, ids)
    return ids


def load_corpus(data_dir):
    """The BPE vocabulary and the training / held-out ids (cached next to the texts)."""
    tok = Tokenizer.load(os.path.join(data_dir, "bpe.json"))
    train_ids = load_tokens(data_dir, tok, "train")
    held_ids = load_tokens(data_dir, tok, "heldout")
    print("tokens: train %d, held-out %d; vocab %d" % (len(train_ids), len(held_ids), len(tok.tokens)), flush=True)
    return tok, train_ids, held_ids


def text_chars(data_dir, name):
    with open(os.path.join(data_dir, name + ".txt"), encoding="utf-8") as f:
        return len(f.read().replace("\n\n<|endoftext|>\n\n", ""))


# ------------------------------------------------------------------------------------------------ train

def lr_at(step, total, peak, warmup, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac)))


def evaluate(model, ids, seq, n_samples, mask_id, seed, max_windows=None, batch=32):
    """Held-out NELBO in nats per token: for every non-overlapping window, n_samples stratified t values
    (t_k = (k + u) / n_samples, u ~ U(0,1) per window) with independent masks. Returns (nats/token, tokens)."""
    gen = torch.Generator().manual_seed(seed)
    n_win = len(ids) // seq
    if max_windows:
        n_win = min(n_win, max_windows)
    wins = torch.from_numpy(ids[: n_win * seq].reshape(n_win, seq))
    total = 0.0
    model.eval()
    with torch.no_grad():
        u = torch.rand(n_win, generator=gen)
        rows, ts = [], []
        for w in range(n_win):
            for k in range(n_samples):
                rows.append(w)
                ts.append((k + u[w].item()) / n_samples)
        rows = torch.tensor(rows)
        ts = torch.tensor(ts)
        for s in range(0, len(rows), batch):
            x0 = wins[rows[s:s + batch]]
            num, _ = nelbo_terms(model, x0, ts[s:s + batch], mask_id, gen)
            total += num.item()
    model.train()
    return total / (n_samples * n_win * seq), n_win * seq


def read_lr_log(path):
    """The lr column of a loss.csv, exactly as recorded (repr of the float), one value per step."""
    with open(path) as f:
        head = f.readline().strip().split(",")
        col = head.index("lr")
        return [float(line.split(",")[col]) for line in f if line.strip()]


def train(model, cfg, a, train_ids, held_ids, mask_id, work):
    """Three ways to fix the schedule: --steps N (warmup + cosine over N steps), --train-seconds S (warmup,
    then cosine over the remaining training time: robust on a shared machine, where step times vary), or
    --replay-lr loss.csv (the recorded per-step lr of an earlier run: with the same seed this repeats it
    exactly, step for step)."""
    gen = torch.Generator().manual_seed(a.seed + 1)
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "norm" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "norm" not in n)]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": other, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    replay = read_lr_log(a.replay_lr) if a.replay_lr else None
    total = len(replay) if replay else a.steps
    deadline = None
    if a.deadline:
        hh, mm = (int(v) for v in a.deadline.split(":"))
        now = time.gmtime()
        deadline = time.time() + ((hh * 60 + mm) - (now.tm_hour * 60 + now.tm_min)) * 60 - now.tm_sec
    csv = open(os.path.join(work, "loss.csv"), "w")
    csv.write("step,seconds,lr,tokens,loss,loss_ema,heldout_nelbo\n")
    t_start = time.time()
    train_time = 0.0  # excludes the periodic held-out evaluations
    t_warm = None
    ema = None
    n_tok = 0
    last_eval = t_start
    last_ckpt = t_start
    max_start = len(train_ids) - cfg["seq"] - 1
    step = 0
    while True:
        if total is not None and step >= total:
            break
        if total is None and train_time >= a.train_seconds:
            break
        t0 = time.time()
        L = cfg["seq"]
        if torch.rand(1, generator=gen).item() < a.short_frac:
            # some batches are shorter so that canvases below the training length are in-distribution
            L = int(torch.randint(16, cfg["seq"], (1,), generator=gen).item())
        starts = torch.randint(0, max_start, (a.batch,), generator=gen)
        x0 = torch.from_numpy(np.stack([train_ids[s:s + L] for s in starts.tolist()]))
        # stratified t over the batch lowers the variance of the 1/t-weighted loss (as MDLM)
        u = torch.rand(1, generator=gen)
        t = (u + torch.arange(a.batch) / a.batch) % 1.0
        if replay:
            lr = replay[step]
        elif total is not None:
            lr = lr_at(step, total, a.lr, a.warmup, a.lr_floor)
        elif step < a.warmup:
            lr = a.lr * (step + 1) / a.warmup
        else:
            if t_warm is None:
                t_warm = train_time
            frac = min(1.0, (train_time - t_warm) / max(1e-9, a.train_seconds - t_warm))
            lr = a.lr * (a.lr_floor + (1 - a.lr_floor) * 0.5 * (1 + math.cos(math.pi * frac)))
        for g in opt.param_groups:
            g["lr"] = lr
        num, _ = nelbo_terms(model, x0, t, mask_id, gen)
        loss = num / (a.batch * L)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        n_tok += a.batch * L
        lv = loss.item()
        ema = lv if ema is None else 0.98 * ema + 0.02 * lv
        dt = time.time() - t0
        train_time += dt
        step += 1
        now = time.time()
        held = ""
        if now - last_eval >= a.eval_every_s:
            nel, _ = evaluate(model, held_ids, cfg["seq"], 2, mask_id, a.seed + 7, max_windows=32)
            held = "%.4f" % nel
            last_eval = time.time()
        csv.write("%d,%.1f,%r,%d,%.5f,%.5f,%s\n" % (step, train_time, lr, n_tok, lv, ema, held))
        csv.flush()
        if step % 20 == 0 or held:
            print("step %5d  train %.0fs  lr %.2e  loss %.4f  ema %.4f  %s%.2fs/step" %
                  (step, train_time, lr, lv, ema, ("heldout(32 win) %s  " % held) if held else "", dt),
                  flush=True)
        if now - last_ckpt > 600:
            save_ckpt(model, cfg, work, {"step": step})
            last_ckpt = now
        if deadline is not None and time.time() > deadline:
            print("deadline %s reached at step %d: stopping early" % (a.deadline, step), flush=True)
            break
    csv.close()
    nel, _ = evaluate(model, held_ids, cfg["seq"], 2, mask_id, a.seed + 7, max_windows=32)
    info = {"steps": step, "train_seconds": train_time, "wall_seconds": time.time() - t_start, "tokens": n_tok,
            "final_loss_ema": ema, "final_heldout_32win": nel}
    save_ckpt(model, cfg, work, info)
    return info


def save_ckpt(model, cfg, work, info):
    tmp = os.path.join(work, "model.pt.tmp")
    torch.save({"cfg": cfg, "state": model.state_dict(), "info": info}, tmp)
    os.replace(tmp, os.path.join(work, "model.pt"))


# ------------------------------------------------------------------------------------------------ sample

def generate(model, prompt_ids, gen_len, steps, block_len, mask_id, forbid=()):
    """Greedy LLaDA low-confidence remasking: the canvas is prompt + gen_len masks, cut into blocks of
    block_len; each block gets steps * block_len / gen_len steps; per step every masked position in the
    block takes its arg-max token with confidence = its softmax probability, and the k most confident are
    committed (k = n_masked_in_block // steps_per_block, +1 on the first remainder steps; ties: lowest position).
    Returns the list of canvases after each step."""
    assert gen_len % block_len == 0 and steps % (gen_len // block_len) == 0
    P = len(prompt_ids)
    x = torch.tensor(list(prompt_ids) + [mask_id] * gen_len)[None]
    spb = steps // (gen_len // block_len)
    history = []
    model.eval()
    with torch.no_grad():
        for b in range(gen_len // block_len):
            lo, hi = P + b * block_len, P + (b + 1) * block_len
            n_masked = int((x[0, lo:hi] == mask_id).sum())
            quota = [n_masked // spb + (1 if s < n_masked % spb else 0) for s in range(spb)]
            for s in range(spb):
                logits = model(x)[0].double()
                logits[:, mask_id] = -math.inf
                for f in forbid:
                    logits[:, f] = -math.inf
                prob = torch.softmax(logits, -1)
                conf, pred = prob.max(-1)
                cand = [i for i in range(lo, hi) if x[0, i] == mask_id]
                cand.sort(key=lambda i: (-conf[i].item(), i))
                for i in cand[:quota[s]]:
                    x[0, i] = pred[i]
                history.append(x[0].tolist())
    model.train()
    return history


# ------------------------------------------------------------------------------------------------ export

def export_gguf(model, cfg, tok, path, name):
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    V = cfg["n_vocab"]
    w = gguf.Writer()
    w.add("general.architecture", "llada")
    w.add("general.name", name)
    w.add("general.file_type", 0, gguf.U32)
    a = "llada."
    w.add(a + "context_length", cfg["n_ctx"], gguf.U32)
    w.add(a + "embedding_length", cfg["n_embd"], gguf.U32)
    w.add(a + "block_count", cfg["n_layer"], gguf.U32)
    w.add(a + "feed_forward_length", cfg["n_ff"], gguf.U32)
    w.add(a + "attention.head_count", cfg["n_head"], gguf.U32)
    w.add(a + "attention.head_count_kv", cfg["n_head"], gguf.U32)
    w.add(a + "attention.layer_norm_rms_epsilon", cfg["eps"], gguf.F32)
    w.add(a + "rope.freq_base", cfg["rope_base"], gguf.F32)
    w.add(a + "rope.dimension_count", cfg["n_embd"] // cfg["n_head"], gguf.U32)
    w.add(a + "vocab_size", V, gguf.U32)
    w.add(a + "attention.causal", False, gguf.BOOL)
    w.add("diffusion.shift_logits", False, gguf.BOOL)
    tok.add_gguf_keys(w, gguf)
    w.add("tokenizer.chat_template", "{% for message in messages %}{{ message['content'] }}{% endfor %}")
    # numpy shapes are (out, in) = torch Linear layout; the writer stores ne = (in, out) as ggml expects.
    w.add_tensor("token_embd.weight", sd["tok_embd.weight"])
    w.add_tensor("output_norm.weight", sd["output_norm.weight"])
    w.add_tensor("output.weight", sd["output.weight"])
    for i in range(cfg["n_layer"]):
        p, q = "blk.%d." % i, "blocks.%d." % i
        for dst, src in (("attn_norm", "attn_norm"), ("attn_q", "wq"), ("attn_k", "wk"), ("attn_v", "wv"),
                         ("attn_output", "wo"), ("ffn_norm", "ffn_norm"), ("ffn_gate", "w_gate"),
                         ("ffn_up", "w_up"), ("ffn_down", "w_down")):
            w.add_tensor(p + dst + ".weight", sd[q + src + ".weight"])
    w.write(path)


# ------------------------------------------------------------------------------------------------ check

def check_library(lib_path, gguf_path, model, tok, text, seed):
    """Cross-check the exported file with libtextdiff (ctypes): its tokenizer must give our ids for `text`,
    and its denoiser our logits for a half-masked window. Returns (tokens_equal, n_tokens, max_abs_logit_diff)."""
    import ctypes as C
    lib = C.CDLL(lib_path)
    vp, i32p = C.c_void_p, C.POINTER(C.c_int32)
    lib.tdiff_model_load_file.argtypes = [C.c_char_p, vp, C.POINTER(vp), C.c_char_p, C.c_size_t]
    lib.tdiff_denoiser_create.argtypes = [vp, C.c_size_t, C.c_int, vp, C.POINTER(vp)]
    lib.tdiff_denoiser_forward.argtypes = [vp, i32p, C.c_size_t, vp, C.c_size_t, C.POINTER(C.c_float),
                                           C.c_size_t]
    for f in (lib.tdiff_denoiser_free, lib.tdiff_model_free):
        f.argtypes = [vp]
    err = C.create_string_buffer(512)
    m, tk, dn = vp(), vp(), vp()
    if lib.tdiff_model_load_file(gguf_path.encode(), None, C.byref(m), err, 512) != 0:
        raise RuntimeError("load: " + err.value.decode())
    ours = tok.encode(text)
    same = None  # the tokenizer module may not be exported by this build of the library yet
    if hasattr(lib, "tdiff_tokenizer_create"):
        lib.tdiff_tokenizer_create.argtypes = [vp, vp, C.POINTER(vp), C.c_char_p, C.c_size_t]
        lib.tdiff_tokenizer_tokenize.argtypes = [vp, C.c_char_p, C.c_size_t, C.c_uint32, i32p, C.c_size_t,
                                                 C.POINTER(C.c_size_t)]
        lib.tdiff_tokenizer_free.argtypes = [vp]
        if lib.tdiff_tokenizer_create(m, None, C.byref(tk), err, 512) != 0:
            raise RuntimeError("tokenizer: " + err.value.decode())
        raw = text.encode("utf-8")
        n = C.c_size_t()
        buf = (C.c_int32 * (len(raw) + 16))()
        if lib.tdiff_tokenizer_tokenize(tk, raw, len(raw), 0, buf, len(raw) + 16, C.byref(n)) != 0:
            raise RuntimeError("tokenize failed")
        same = list(buf[:n.value]) == ours
        lib.tdiff_tokenizer_free(tk)
    L = model.cfg["seq"]
    if lib.tdiff_denoiser_create(m, L, 1, None, C.byref(dn)) != 0:
        raise RuntimeError("denoiser_create failed")
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.tensor(ours[:L])[None]
    xt, _, _ = masked_batch(x0, torch.tensor([0.5]), tok.mask, gen)
    ids = (C.c_int32 * L)(*xt[0].tolist())
    V = model.cfg["n_vocab"]
    out = (C.c_float * (L * V))()
    if lib.tdiff_denoiser_forward(dn, ids, L, None, 0, out, L * V) != 0:
        raise RuntimeError("forward failed")
    with torch.no_grad():
        ref = model(xt)[0].numpy()
    diff = float(np.abs(np.frombuffer(out, dtype=np.float32).reshape(L, V) - ref).max())
    lib.tdiff_denoiser_free(dn)
    lib.tdiff_model_free(m)
    return same, len(ours), diff


# ------------------------------------------------------------------------------------------------ main

PROMPTS = ["It is a truth universally acknowledged", "Mr. Darcy", "Emma Woodhouse, handsome, clever,",
           "\"My dear"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=".cache/austen", help="folder of fetch_austen.py / train_bpe.py outputs")
    ap.add_argument("--work", default=".cache/default-model", help="checkpoint, loss.csv, results.json")
    ap.add_argument("--gguf", default="models/austen-llada.gguf")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-ff", type=int, default=704)
    ap.add_argument("--seq", type=int, default=128, help="training window (tokens)")
    ap.add_argument("--n-ctx", type=int, default=128, help="llada.context_length written to the GGUF")
    ap.add_argument("--rope-base", type=float, default=10000.0)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-floor", type=float, default=0.1, help="final lr as a fraction of the peak")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    ap.add_argument("--short-frac", type=float, default=0.2, help="fraction of batches with a random shorter L")
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--steps", type=int, help="exact number of optimizer steps")
    g.add_argument("--train-seconds", type=float, help="training-time budget; cosine decay over time")
    g.add_argument("--replay-lr", help="loss.csv of an earlier run: repeat its per-step lr exactly")
    ap.add_argument("--deadline", help="UTC HH:MM after which training stops even if steps remain")
    ap.add_argument("--eval-every-s", type=float, default=600)
    ap.add_argument("--eval-samples", type=int, default=8)
    ap.add_argument("--skip-train", action="store_true", help="load <work>/model.pt instead of training")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--no-eval", action="store_true", help="keep the held-out numbers of <work>/results.json")
    ap.add_argument("--gen-len", type=int, default=48, help="sample: tokens generated after each prompt")
    ap.add_argument("--gen-steps", type=int, default=48, help="sample: denoising steps")
    ap.add_argument("--gen-block", type=int, default=8, help="sample: semi-autoregressive block length")
    ap.add_argument("--check-lib", help="libtextdiff.so: cross-check the exported GGUF's tokens and logits")
    a = ap.parse_args()
    if not a.skip_train and a.steps is None and a.train_seconds is None and a.replay_lr is None:
        ap.error("give --steps, --train-seconds or --replay-lr (or --skip-train)")

    torch.set_num_threads(1)
    torch.manual_seed(a.seed)
    os.makedirs(a.work, exist_ok=True)
    tok, train_ids, held_ids = load_corpus(a.data)

    if a.skip_train:
        ck = torch.load(os.path.join(a.work, "model.pt"))
        cfg = ck["cfg"]
        model = LLaDA(cfg)
        model.load_state_dict(ck["state"])
        info = ck["info"]
    else:
        cfg = {"n_vocab": len(tok.tokens), "n_embd": a.n_embd, "n_layer": a.n_layer, "n_head": a.n_head,
               "n_ff": a.n_ff, "n_ctx": a.n_ctx, "seq": a.seq, "eps": 1e-5, "rope_base": a.rope_base}
        model = LLaDA(cfg)
        model.init_weights(torch.Generator().manual_seed(a.seed))
        print("model: %d parameters, cfg %s" % (n_params(model), cfg), flush=True)
        print("command: %s" % " ".join(sys.argv), flush=True)
        info = train(model, cfg, a, train_ids, held_ids, tok.mask, a.work)
    print("training: %s" % info, flush=True)

    res_path = os.path.join(a.work, "results.json")
    if a.no_eval and os.path.exists(res_path):
        with open(res_path, encoding="utf-8") as f:
            res = json.load(f)
        print("held-out evaluation kept from %s" % res_path, flush=True)
    else:
        t0 = time.time()
        nel, n_tok = evaluate(model, held_ids, cfg["seq"], a.eval_samples, tok.mask, a.seed + 99)
        chars = text_chars(a.data, "heldout")
        bpc = nel * len(held_ids) / chars / math.log(2)  # tokens per char of the whole held-out text
        res = {"heldout_nelbo_nats_per_token": nel, "heldout_ppl_bound": math.exp(nel), "heldout_tokens": n_tok,
               "heldout_bits_per_char": bpc, "eval_samples": a.eval_samples, "eval_seconds": time.time() - t0,
               "params": n_params(model), "train": info}
        print("held-out NELBO %.4f nats/token over %d tokens -> perplexity <= %.2f, %.3f bits/char (%.0fs)" %
              (nel, n_tok, math.exp(nel), bpc, time.time() - t0), flush=True)

    # Greedy, semi-autoregressive blocks of 8: one block of 48 lets frequent tokens (",", "the") win
    # everywhere at once; the same settings as `textdiff generate -n 48 --steps 48 --block 8`.
    samples = []
    for pr in PROMPTS:
        ids = tok.encode(pr)
        hist = generate(model, ids, a.gen_len, a.gen_steps, a.gen_block, tok.mask, forbid=(tok.eot,))
        text = tok.decode(hist[-1])
        samples.append({"prompt": pr, "gen_len": a.gen_len, "steps": a.gen_steps, "block_len": a.gen_block,
                        "ids": hist[-1][len(ids):], "text": text})
        print("--- %r\n%s" % (pr, text), flush=True)
    res["samples"] = samples
    with open(res_path, "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1, ensure_ascii=False)

    if not a.no_export:
        export_gguf(model, cfg, tok, a.gguf, "austen-llada-L%d-d%d" % (cfg["n_layer"], cfg["n_embd"]))
        print("wrote %s (%d bytes)" % (a.gguf, os.path.getsize(a.gguf)), flush=True)
    if a.check_lib:
        with open(os.path.join(a.data, "heldout.txt"), encoding="utf-8") as f:
            text = f.read()[:20000]
        same, n_tok, diff = check_library(a.check_lib, a.gguf, model, tok, text, a.seed)
        verdict = {True: "agrees", False: "DISAGREES", None: "not exported by this library build"}[same]
        print("libtextdiff check: tokenizer %s on %d tokens; max |logit diff| %.3g over one %d-token window" %
              (verdict, n_tok, diff, cfg["seq"]), flush=True)
        if same is False or not diff < 1e-3:
            sys.exit("libtextdiff check failed")


if __name__ == "__main__":
    main()
