"""lm_common.py -- what the Austen trainers share: tools/train_default.py (masked diffusion, the bundled
`llada` model), tools/train_ar.py (autoregressive, `llama`) and tools/train_bd3.py (block diffusion, `tdiff`).

Owns:
  model     the llama-family transformer exactly as llama.cpp's `llama` and `llada` graphs compute it: pre-norm
            RMSNorm, RoPE in the "normal" convention (adjacent pairs (2i, 2i+1) rotate; llama.cpp's converter
            permutes Hugging Face Q/K rows into this order, we train in it directly, so no permutation exists
            anywhere here), no biases, SwiGLU FFN, a separate LM head. What differs between the three models
            is only the attention pattern (a boolean mask, True = may attend) and, for block diffusion, the
            positions fed to RoPE (the clean copy of the sequence reuses positions 0..L-1).
  data      the tokenized corpus (ids cached next to the texts) and the held-out windows of `textdiff score`
  train     one training loop for all objectives: AdamW, warmup + cosine over steps, seconds or tokens, a
            per-step loss log (CSV), checkpoints that resume exactly
  export    the llama-family tensor names and types (F32, or F16 with 1-D norms kept F32 as llama.cpp's
            converter does), and reading weights back from a GGUF
  check     the ctypes bridge to libtextdiff for the trainers' --check-lib cross-checks

Dimensions in comments: B batch, H heads, L sequence, d hidden, hd head dim, V vocabulary.
Single-threaded on purpose (the build machine is shared): the thread variables are pinned before torch loads.
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

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
    """x: (B, H, L, hd); cos/sin: (>= L, hd/2), row l for the l-th position of x.
    Normal (GPT-J) convention: rotate the adjacent pairs (x[2i], x[2i+1])."""
    L = x.shape[2]
    x = x.reshape(*x.shape[:-1], -1, 2)
    x0, x1 = x[..., 0], x[..., 1]
    c, s = cos[:L].to(x.dtype), sin[:L].to(x.dtype)
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


def attend(q, k, v, mask):
    """softmax(q k^T / sqrt(hd) + mask) v for q, k, v: (B, H, L, hd). mask: None (full attention), a bool
    tensor broadcastable to (B, H, L, L) (True = may attend), or a callable (q, k, v) -> (B, H, L, hd) for a
    structured pattern computed without the dense L x L matrix (train_bd3.py)."""
    if callable(mask):
        return mask(q, k, v)
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))  # (B, H, L, L)
    if mask is not None:
        s = s.masked_fill(~mask, -math.inf)
    return torch.softmax(s, dim=-1) @ v


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

    def forward(self, x, cos, sin, mask=None):
        """x: (B, L, d); mask: see attend()."""
        B, L, d = x.shape
        hd = d // self.n_head
        h = self.attn_norm(x)
        q = self.wq(h).view(B, L, self.n_head, hd).transpose(1, 2)
        k = self.wk(h).view(B, L, self.n_head, hd).transpose(1, 2)
        v = self.wv(h).view(B, L, self.n_head, hd).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        o = attend(q, k, v, mask).transpose(1, 2).reshape(B, L, d)
        x = x + self.wo(o)
        h = self.ffn_norm(x)
        return x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))


class Transformer(nn.Module):
    """cfg: n_vocab, n_embd, n_layer, n_head, n_ff, n_ctx, seq, eps, rope_base."""

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

    def hidden(self, ids, mask=None, pos=None):
        """ids: (B, L); pos: None (positions 0..L-1) or (L,) RoPE positions. Returns (B, L, d) after the
        final norm."""
        cos, sin = (self.cos, self.sin) if pos is None else (self.cos[pos], self.sin[pos])
        x = self.tok_embd(ids)
        for b in self.blocks:
            x = b(x, cos, sin, mask)
        return self.output_norm(x)

    def forward(self, ids, mask=None, pos=None):
        return self.output(self.hidden(ids, mask, pos))  # (B, L, V)


def causal_mask(L):
    """(L, L) bool: i sees j <= i (llama)."""
    i = torch.arange(L)
    return i[None, :] <= i[:, None]


def n_params(model):
    return sum(p.numel() for p in model.parameters())


def model_config(a, n_vocab):
    return {"n_vocab": n_vocab, "n_embd": a.n_embd, "n_layer": a.n_layer, "n_head": a.n_head, "n_ff": a.n_ff,
            "n_ctx": a.n_ctx, "seq": a.seq, "eps": 1e-5, "rope_base": a.rope_base}


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


def score_windows(data_dir, tok, window):
    """Exactly the windows `textdiff score MODEL heldout-plain.txt` scores: the plain held-out text (no book
    separators) tokenized without special tokens, cut into consecutive windows of `window` tokens, the last
    one shorter. Returns (list of int64 arrays, total tokens, characters)."""
    with open(os.path.join(data_dir, "heldout-plain.txt"), encoding="utf-8") as f:
        text = f.read()
    ids = np.asarray(tok.encode(text), dtype=np.int64)
    return [ids[i:i + window] for i in range(0, len(ids), window)], len(ids), len(text)


def random_windows(ids, n, L, gen, span=None):
    """(n, L) int64: windows of the token stream at uniformly random offsets in [0, len - span - 1) (span
    defaults to L; the masked trainer draws short windows from the offsets of full ones, as its recorded run)."""
    starts = torch.randint(0, len(ids) - (L if span is None else span) - 1, (n,), generator=gen)
    return torch.from_numpy(np.stack([ids[s:s + L] for s in starts.tolist()]))


# ------------------------------------------------------------------------------------------------ train

def lr_at(step, total, peak, warmup, floor):
    if step < warmup:
        return peak * (step + 1) / warmup
    frac = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * frac)))


def cosine(frac, peak, floor):
    return peak * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def read_lr_log(path):
    """The lr column of a loss.csv, exactly as recorded (repr of the float), one value per step."""
    with open(path) as f:
        head = f.readline().strip().split(",")
        col = head.index("lr")
        return [float(line.split(",")[col]) for line in f if line.strip()]


def add_train_args(ap, seq=256, batch=16):
    """The options every trainer shares (model shape, optimiser, budget, logging)."""
    ap.add_argument("--data", default=".cache/austen", help="folder of fetch_austen.py / train_bpe.py outputs")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--n-layer", type=int, default=4)
    ap.add_argument("--n-embd", type=int, default=256)
    ap.add_argument("--n-head", type=int, default=4)
    ap.add_argument("--n-ff", type=int, default=704)
    ap.add_argument("--seq", type=int, default=seq, help="training window (tokens)")
    ap.add_argument("--n-ctx", type=int, default=seq, help="context length written to the GGUF")
    ap.add_argument("--rope-base", type=float, default=10000.0)
    ap.add_argument("--batch", type=int, default=batch)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--lr-floor", type=float, default=0.1, help="final lr as a fraction of the peak")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--wd", type=float, default=0.1)
    ap.add_argument("--clip", type=float, default=1.0)
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--steps", type=int, help="exact number of optimizer steps")
    g.add_argument("--train-seconds", type=float, help="training-time budget; cosine decay over time")
    g.add_argument("--tokens", type=float, help="budget in training tokens (window positions); cosine decay "
                   "over tokens; the run stops at the first step that reaches it")
    g.add_argument("--replay-lr", help="loss.csv of an earlier run: repeat its per-step lr exactly")
    ap.add_argument("--resume", action="store_true", help="continue <work>/model.pt (optimizer, RNG, log)")
    ap.add_argument("--stop-after-seconds", type=float, default=None,
                    help="checkpoint and exit after this much wall time (bounded sessions; --resume continues)")
    ap.add_argument("--deadline", help="UTC HH:MM after which training stops even if steps remain")
    ap.add_argument("--eval-every-s", type=float, default=600)
    ap.add_argument("--eval-every-tokens", type=float, default=None,
                    help="quick held-out evaluation every this many tokens (instead of every --eval-every-s)")


def has_budget(a):
    return any(v is not None for v in (a.steps, a.train_seconds, a.tokens, a.replay_lr))


def save_ckpt(model, cfg, work, info, state=None):
    tmp = os.path.join(work, "model.pt.tmp")
    torch.save({"cfg": cfg, "state": model.state_dict(), "info": info, "train_state": state}, tmp)
    os.replace(tmp, os.path.join(work, "model.pt"))


def load_ckpt(work, model_cls):
    ck = torch.load(os.path.join(work, "model.pt"))
    model = model_cls(ck["cfg"])
    model.load_state_dict(ck["state"])
    return model, ck["cfg"], ck["info"], ck.get("train_state")


def make_optimizer(model, a):
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and "norm" not in n]
    other = [p for n, p in model.named_parameters() if not (p.dim() == 2 and "norm" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": a.wd}, {"params": other, "weight_decay": 0.0}],
                             lr=a.lr, betas=(0.9, 0.95), eps=1e-8)


def train_loop(model, cfg, a, work, step_fn, quick_eval):
    """Trains `model` in place and returns a summary dict.

    step_fn(gen) -> (loss, n_tokens): draws one batch from `gen` and returns the scalar loss to minimise
    (nats per token) and the number of window positions it covered. quick_eval() -> float: a cheap held-out
    number for the log (column heldout_nelbo).

    The schedule is fixed by one of: --steps N (warmup + cosine over N steps), --train-seconds S (warmup,
    then cosine over the remaining training time: robust on a shared machine, where step times vary),
    --tokens T (warmup, then cosine over the remaining tokens; the budget the three Austen models share), or
    --replay-lr loss.csv (the recorded per-step lr of an earlier run: with the same seed this repeats it step
    for step). --resume continues an interrupted run exactly (optimizer, generator, counters, log)."""
    gen = torch.Generator().manual_seed(a.seed + 1)
    opt = make_optimizer(model, a)
    replay = read_lr_log(a.replay_lr) if a.replay_lr else None
    total = len(replay) if replay else a.steps
    deadline = None
    if a.deadline:
        hh, mm = (int(v) for v in a.deadline.split(":"))
        now = time.gmtime()
        deadline = time.time() + ((hh * 60 + mm) - (now.tm_hour * 60 + now.tm_min)) * 60 - now.tm_sec
    st = {"step": 0, "n_tok": 0, "train_time": 0.0, "cpu_time": 0.0, "ema": None, "t_warm": None, "tok_warm": None}
    csv_path = os.path.join(work, "loss.csv")
    if a.resume:
        ck = torch.load(os.path.join(work, "model.pt"))
        model.load_state_dict(ck["state"])
        ts = ck["train_state"]
        opt.load_state_dict(ts["opt"])
        gen.set_state(ts["gen"])
        st = ts["counters"]
        with open(csv_path) as f:  # drop log lines written after the checkpoint
            lines = f.readlines()[:st["step"] + 1]
        csv = open(csv_path, "w")
        csv.writelines(lines)
        print("resumed at step %d, %d tokens" % (st["step"], st["n_tok"]), flush=True)
    else:
        csv = open(csv_path, "w")
        csv.write("step,seconds,lr,tokens,loss,loss_ema,heldout_nelbo\n")

    def train_state():
        return {"opt": opt.state_dict(), "gen": gen.get_state(), "counters": dict(st)}

    t_start = time.time()
    last_eval = last_ckpt = t_start
    next_eval_tok = (st["n_tok"] // a.eval_every_tokens + 1) * a.eval_every_tokens if a.eval_every_tokens else None
    stopped = None
    while True:
        step = st["step"]
        if total is not None and step >= total:
            break
        if a.train_seconds is not None and st["train_time"] >= a.train_seconds:
            break
        if a.tokens is not None and st["n_tok"] >= a.tokens:
            break
        t0, c0 = time.time(), time.process_time()
        if replay:
            lr = replay[step]
        elif total is not None:
            lr = lr_at(step, total, a.lr, a.warmup, a.lr_floor)
        elif step < a.warmup:
            lr = a.lr * (step + 1) / a.warmup
        elif a.tokens is not None:
            if st["tok_warm"] is None:
                st["tok_warm"] = st["n_tok"]
            lr = cosine((st["n_tok"] - st["tok_warm"]) / max(1.0, a.tokens - st["tok_warm"]), a.lr, a.lr_floor)
        else:
            if st["t_warm"] is None:
                st["t_warm"] = st["train_time"]
            lr = cosine((st["train_time"] - st["t_warm"]) / max(1e-9, a.train_seconds - st["t_warm"]), a.lr,
                        a.lr_floor)
        for g in opt.param_groups:
            g["lr"] = lr
        loss, n = step_fn(gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        st["n_tok"] += n
        lv = loss.item()
        st["ema"] = lv if st["ema"] is None else 0.98 * st["ema"] + 0.02 * lv
        dt = time.time() - t0
        st["train_time"] += dt
        st["cpu_time"] += time.process_time() - c0
        st["step"] = step = step + 1
        now = time.time()
        held = ""
        if (next_eval_tok is not None and st["n_tok"] >= next_eval_tok) or \
                (next_eval_tok is None and now - last_eval >= a.eval_every_s):
            held = "%.4f" % quick_eval()
            last_eval = time.time()
            if next_eval_tok is not None:
                next_eval_tok += a.eval_every_tokens
        csv.write("%d,%.1f,%r,%d,%.5f,%.5f,%s\n" % (step, st["train_time"], lr, st["n_tok"], lv, st["ema"], held))
        csv.flush()
        if step % 20 == 0 or held:
            print("step %5d  train %.0fs  lr %.2e  tok %.2fM  loss %.4f  ema %.4f  %s%.2fs/step" %
                  (step, st["train_time"], lr, st["n_tok"] / 1e6, lv, st["ema"],
                   ("heldout(32 win) %s  " % held) if held else "", dt), flush=True)
        if now - last_ckpt > 600:
            save_ckpt(model, cfg, work, {"step": step}, train_state())
            last_ckpt = now
        if deadline is not None and time.time() > deadline:
            stopped = "deadline %s reached at step %d: stopping early" % (a.deadline, step)
        if a.stop_after_seconds is not None and time.time() - t_start > a.stop_after_seconds:
            stopped = "session limit reached at step %d" % step
        if stopped:
            print(stopped, flush=True)
            break
    csv.close()
    info = {"steps": st["step"], "train_seconds": st["train_time"], "cpu_seconds": st["cpu_time"],
            "wall_seconds_last_session": time.time() - t_start, "tokens": st["n_tok"],
            "final_loss_ema": st["ema"]}
    if stopped and a.stop_after_seconds is not None and "session" in stopped:
        save_ckpt(model, cfg, work, info, train_state())
        print("checkpoint saved; continue with --resume", flush=True)
        sys.exit(3)
    info["final_heldout_32win"] = quick_eval()
    save_ckpt(model, cfg, work, info, train_state())
    return info


# ------------------------------------------------------------------------------------------------ export

# our module names -> llama.cpp's tensor names, in the order the exporters write them
LAYER_TENSORS = (("attn_norm", "attn_norm"), ("attn_q", "wq"), ("attn_k", "wk"), ("attn_v", "wv"),
                 ("attn_output", "wo"), ("ffn_norm", "ffn_norm"), ("ffn_gate", "w_gate"), ("ffn_up", "w_up"),
                 ("ffn_down", "w_down"))


def llama_tensors(model):
    """[(gguf name, float32 numpy array in torch (out, in) layout)] for token_embd, output_norm, output and
    every layer, in the order llama.cpp's fixtures list them."""
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    out = [("token_embd.weight", sd["tok_embd.weight"]), ("output_norm.weight", sd["output_norm.weight"]),
           ("output.weight", sd["output.weight"])]
    for i in range(model.cfg["n_layer"]):
        for dst, src in LAYER_TENSORS:
            out.append(("blk.%d.%s.weight" % (i, dst), sd["blocks.%d.%s.weight" % (i, src)]))
    return out


def add_tensors(w, model, ttype):
    """F32, or F16 for matrices with the 1-D norm weights kept F32 (what llama.cpp's converter does with
    --outtype f16). numpy (out, in) shapes are stored as ggml ne = (in, out)."""
    for name, x in llama_tensors(model):
        w.add_tensor(name, x, gguf.GGML_F32 if ttype == gguf.GGML_F32 or x.ndim == 1 else ttype)


def file_type(ttype):
    """general.file_type: llama.cpp's LLAMA_FTYPE_ALL_F32 = 0, LLAMA_FTYPE_MOSTLY_F16 = 1."""
    return {gguf.GGML_F32: 0, gguf.GGML_F16: 1}[ttype]


def ttype_arg(s):
    return {"f32": gguf.GGML_F32, "f16": gguf.GGML_F16}[s]


CHAT_TEMPLATE = "{% for message in messages %}{{ message['content'] }}{% endfor %}"  # text passes unchanged


def tdiff_writer(cfg, tok, name, ttype, causal=False, block_length=None):
    """A Writer with our own `tdiff` keys (docs/model-format.md) describing this transformer: RMSNorm, normal
    RoPE, SwiGLU, pre-norm, final norm, separate head; attention full, causal, or block-causal with
    block_length. The tokenizer keys are the bundled model's (mask token included: the loader requires it for
    every `tdiff` file). Tensors are added by the caller (add_tensors)."""
    w = gguf.Writer()
    w.add("general.architecture", "tdiff")
    w.add("general.name", name)
    w.add("general.file_type", file_type(ttype), gguf.U32)
    a = "tdiff."
    w.add(a + "context_length", cfg["n_ctx"], gguf.U32)
    w.add(a + "embedding_length", cfg["n_embd"], gguf.U32)
    w.add(a + "block_count", cfg["n_layer"], gguf.U32)
    w.add(a + "feed_forward_length", cfg["n_ff"], gguf.U32)
    w.add(a + "attention.head_count", cfg["n_head"], gguf.U32)
    w.add(a + "attention.head_count_kv", cfg["n_head"], gguf.U32)
    w.add(a + "attention.causal", bool(causal), gguf.BOOL)
    if block_length is not None:
        w.add(a + "attention.block_length", int(block_length), gguf.U32)
    w.add(a + "norm.type", "rms")
    w.add(a + "norm.epsilon", cfg["eps"], gguf.F32)
    w.add(a + "norm.position", "pre")
    w.add(a + "ffn.type", "swiglu")
    w.add(a + "rope.type", "normal")
    w.add(a + "rope.freq_base", cfg["rope_base"], gguf.F32)
    w.add(a + "rope.dimension_count", cfg["n_embd"] // cfg["n_head"], gguf.U32)
    w.add("diffusion.shift_logits", False, gguf.BOOL)
    tok.add_gguf_keys(w, gguf)
    w.add("tokenizer.chat_template", CHAT_TEMPLATE)
    return w


def load_weights_from_gguf(model, path):
    """Copies the llama-family tensors of a GGUF file (any architecture prefix, F32/F16/...) into model."""
    g = gguf.read(path)
    T = {t["name"]: torch.from_numpy(gguf.dequantize(t).copy()) for t in g.tensors}
    sd = {"tok_embd.weight": T["token_embd.weight"], "output_norm.weight": T["output_norm.weight"],
          "output.weight": T["output.weight"]}
    for i in range(model.cfg["n_layer"]):
        for theirs, ours in LAYER_TENSORS:
            sd["blocks.%d.%s.weight" % (i, ours)] = T["blk.%d.%s.weight" % (i, theirs)]
    model.load_state_dict(sd)
    return g


def file_rounded(model, ttype):
    """A copy of model whose weights went through the file's number format (what a loader sees)."""
    import copy
    m = copy.deepcopy(model)
    if ttype == gguf.GGML_F16:
        with torch.no_grad():
            for n, p in m.named_parameters():
                if p.dim() == 2:
                    p.copy_(p.half().float())
    return m


# ------------------------------------------------------------------------------------------------ check

class Lib:
    """The few libtextdiff entry points the trainers' --check-lib needs (ctypes, no binding import)."""
    ATTENTION, BLOCK_LENGTH = 1, 2
    FULL, CAUSAL, BLOCK_CAUSAL = 1, 2, 3

    def __init__(self, path):
        import ctypes as C
        self.C = C
        lib = self.lib = C.CDLL(path)
        vp, i32p = C.c_void_p, C.POINTER(C.c_int32)
        lib.tdiff_model_load_file.argtypes = [C.c_char_p, vp, C.POINTER(vp), C.c_char_p, C.c_size_t]
        lib.tdiff_denoiser_create.argtypes = [vp, C.c_size_t, C.c_int, vp, C.POINTER(vp), C.c_char_p, C.c_size_t]
        lib.tdiff_denoiser_forward.argtypes = [vp, i32p, C.c_size_t, vp, C.c_size_t, C.POINTER(C.c_float),
                                               C.c_size_t]
        lib.tdiff_denoiser_set_int.argtypes = [vp, C.c_int, C.c_int64]
        lib.tdiff_tokenizer_create.argtypes = [vp, vp, C.POINTER(vp), C.c_char_p, C.c_size_t]
        lib.tdiff_tokenizer_tokenize.argtypes = [vp, C.c_char_p, C.c_size_t, C.c_uint32, i32p, C.c_size_t,
                                                 C.POINTER(C.c_size_t)]
        for f in (lib.tdiff_denoiser_free, lib.tdiff_model_free, lib.tdiff_tokenizer_free):
            f.argtypes = [vp]

    def load(self, path):
        C = self.C
        err = C.create_string_buffer(512)
        m = C.c_void_p()
        if self.lib.tdiff_model_load_file(path.encode(), None, C.byref(m), err, 512) != 0:
            raise RuntimeError("load %s: %s" % (path, err.value.decode()))
        return m

    def tokenize(self, m, text):
        C = self.C
        err = C.create_string_buffer(512)
        tk = C.c_void_p()
        if self.lib.tdiff_tokenizer_create(m, None, C.byref(tk), err, 512) != 0:
            raise RuntimeError("tokenizer: " + err.value.decode())
        raw = text.encode("utf-8")
        n = C.c_size_t()
        buf = (C.c_int32 * (len(raw) + 16))()
        rc = self.lib.tdiff_tokenizer_tokenize(tk, raw, len(raw), 0, buf, len(raw) + 16, C.byref(n))
        self.lib.tdiff_tokenizer_free(tk)
        if rc != 0:
            raise RuntimeError("tokenize failed")
        return list(buf[:n.value])

    def logits(self, m, ids, n_vocab, attention=None, block_length=None):
        """float32 (len(ids), V) logits of libtextdiff's denoiser on one sequence."""
        C = self.C
        err = C.create_string_buffer(512)
        dn = C.c_void_p()
        L = len(ids)
        if self.lib.tdiff_denoiser_create(m, L, 1, None, C.byref(dn), err, 512) != 0:
            raise RuntimeError("denoiser_create: " + err.value.decode())
        try:
            if attention is not None and self.lib.tdiff_denoiser_set_int(dn, self.ATTENTION, attention) != 0:
                raise RuntimeError("cannot set the attention pattern")
            if block_length is not None and self.lib.tdiff_denoiser_set_int(dn, self.BLOCK_LENGTH, block_length):
                raise RuntimeError("cannot set the block length")
            out = (C.c_float * (L * n_vocab))()
            if self.lib.tdiff_denoiser_forward(dn, (C.c_int32 * L)(*ids), L, None, 0, out, L * n_vocab) != 0:
                raise RuntimeError("forward failed")
            return np.frombuffer(out, dtype=np.float32).reshape(L, n_vocab).copy()
        finally:
            self.lib.tdiff_denoiser_free(dn)

    def free(self, m):
        self.lib.tdiff_model_free(m)
