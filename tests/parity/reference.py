"""reference.py -- an independent PyTorch (float64) implementation of every
network libtextdiff's denoiser runs, read from a GGUF file through
tools/gguf.py's numpy reader. It is written from the papers and the original
projects' model code, not from lib/denoiser/: the C code is checked against it.

Architectures:
  llada   LLaMA-like: RMSNorm pre-norm, RoPE on adjacent pairs (llama.cpp's
          "normal" rotation; its converter permutes Q/K for it), SwiGLU.
  dream   Qwen2-like: as llada, RoPE on split halves (NeoX), Q/K/V biases,
          logits shifted by one (diffusion.shift_logits absent = true).
  tdiff   our own keys (docs/model-format.md, "tdiff" section): BERT-style masked LMs
          (post-norm LayerNorm, learned positions, token types, GELU, MLM head)
          and DiT denoisers (MDLM/SEDD: adaLN shift/scale/gate from a
          sinusoidal time embedding through an MLP).

forward(g, tokens, positions=None, t=None, attention=None, block_len=None, span=None, mix=None, embd=None,
        block_start=0)
returns float64 logits [len(positions), V]; row r predicts the token at
positions[r] (the shift of shifted models is already undone). mix: optional
per-position lists of (token id, weight) whose weighted sum of embedding rows
replaces the token's row (empty list: the token's own row). embd: optional
[n, d] input vectors replacing every token-embedding row
(tdiff_denoiser_forward_embd); mix and embd are exclusive.
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'tools'))
import gguf  # noqa: E402

FULL, CAUSAL, BLOCK_CAUSAL, SPANS = 1, 2, 3, 4


def kv(g, key, default=None):
    return g.kv[key][1] if key in g.kv else default


BLOCK_TYPES = (gguf.GGML_Q8_0, gguf.GGML_Q4_0, gguf.GGML_Q4_K, gguf.GGML_Q5_K, gguf.GGML_Q6_K)


def tensor(g, name):
    """Dequantised weights as float64, numpy shape order (outermost first), or None.
    Block-type weights carry .q8_input = True: a product with them first quantises
    its input (q8 below), as the library's integer products do."""
    for t in g.tensors:
        if t['name'] == name:
            w = torch.from_numpy(gguf.dequantize(t).astype(np.float64))
            w.q8_input = t['type'] in BLOCK_TYPES
            return w
    return None


# Smallest distance of x * (1/d) to a rounding boundary (a half-integer) seen by
# q8 for single-row inputs (the DiT time conditioning, which every row reads):
# make_goldens.py keeps cases where float32-level differences cannot flip a q.
Q8_MARGIN = {'single_row': float('inf')}


def q8(x):
    """The activations a block-type product sees (lib/simd/gemm.h): the float32
    input in blocks of 32 along the last axis, d = amax/127, q = x * (1/d) rounded
    half to even (|q| <= 127), all in float32; returns d*q as float64. A block so
    small that 1/d overflows is all zeros; a non-finite block gives NaN."""
    a = x.detach().cpu().numpy().astype(np.float32)
    b = a.reshape(-1, 32)
    amax = np.abs(b).max(axis=1)
    bad = ~np.isfinite(b).all(axis=1)
    d = (amax / np.float32(127)).astype(np.float32)
    with np.errstate(divide='ignore', invalid='ignore', over='ignore'):
        inv = np.where(d != 0, np.float32(1) / d, np.float32(0)).astype(np.float32)
        tiny = ~np.isfinite(inv)
        inv[tiny | bad] = 0
        d[tiny] = 0
        d[bad] = np.nan
        v = (b * inv[:, None]).astype(np.float32)
        q = np.rint(v)
    if a.ndim == 1 or a.shape[0] == 1:
        dist = np.abs(np.abs(v - np.floor(v)) - 0.5)
        Q8_MARGIN['single_row'] = min(Q8_MARGIN['single_row'], float(dist.min()))
    return torch.from_numpy((q.astype(np.float64) * d.astype(np.float64)[:, None]).reshape(a.shape))


def config(g):
    arch = kv(g, 'general.architecture')
    c = {'arch': arch}
    if arch in ('llada', 'dream'):
        p = arch + '.'
        c.update(d=kv(g, p + 'embedding_length'), layers=kv(g, p + 'block_count'),
                 heads=kv(g, p + 'attention.head_count'), eps=kv(g, p + 'attention.layer_norm_rms_epsilon'),
                 rope_base=kv(g, p + 'rope.freq_base', 10000.0), norm='rms', post=False, ffn='swiglu',
                 rope='normal' if arch == 'llada' else 'neox', final_norm=True, embd_norm=False,
                 learned_pos=False, types=0, transform=False, dit=False,
                 causal=kv(g, p + 'attention.causal', False), block=0)
        c['kv_heads'] = kv(g, p + 'attention.head_count_kv', c['heads'])
        c['rope_dim'] = kv(g, p + 'rope.dimension_count', c['d'] // c['heads'])
        c['shift'] = kv(g, 'diffusion.shift_logits', arch == 'dream')
    elif arch == 'tdiff':
        p = 'tdiff.'
        c.update(d=kv(g, p + 'embedding_length'), layers=kv(g, p + 'block_count'),
                 heads=kv(g, p + 'attention.head_count'), norm=kv(g, p + 'norm.type', 'layer'),
                 eps=kv(g, p + 'norm.epsilon', 1e-5), post=kv(g, p + 'norm.position', 'pre') == 'post',
                 ffn=kv(g, p + 'ffn.type', 'swiglu'), rope=kv(g, p + 'rope.type', 'none'),
                 rope_base=kv(g, p + 'rope.freq_base', 10000.0), embd_norm=kv(g, p + 'embedding.norm', False),
                 learned_pos=kv(g, p + 'position.learned', False), types=kv(g, p + 'token_types', 0),
                 transform=kv(g, p + 'head.transform', False), shift=kv(g, 'diffusion.shift_logits', False),
                 causal=kv(g, p + 'attention.causal', False), block=kv(g, p + 'attention.block_length', 0),
                 dit=kv(g, p + 'time.type', 'none') == 'dit')
        c['kv_heads'] = kv(g, p + 'attention.head_count_kv', c['heads'])
        c['final_norm'] = kv(g, p + 'norm.final', not c['post'])
        c['rope_dim'] = kv(g, p + 'rope.dimension_count', c['d'] // c['heads'])
        c['freq_dim'] = kv(g, p + 'time.frequency_dim', 256)
        c['max_period'] = kv(g, p + 'time.max_period', 10000.0)
        c['scale_by_sigma'] = kv(g, p + 'time.scale_by_sigma', False)
    else:
        raise ValueError('unknown architecture %r' % arch)
    return c


def norm(c, x, w, b):
    if c['norm'] == 'rms':
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + c['eps']) * w
        return y if b is None else y + b
    return F.layer_norm(x, (x.shape[-1],), w, b, c['eps'])


def linear(x, w, b=None):
    if getattr(w, 'q8_input', False):
        x = q8(x)
    return F.linear(x, w, b)


def rope(c, x):
    """x [n, heads, hd] rotated by position; the first rope_dim values of each head."""
    n, _, hd = x.shape
    rd = c['rope_dim']
    inv = c['rope_base'] ** (-torch.arange(0, rd, 2, dtype=torch.float64) / rd)   # [rd/2]
    ang = torch.arange(n, dtype=torch.float64)[:, None] * inv[None, :]            # [n, rd/2]
    r, rest = x[..., :rd], x[..., rd:]
    if c['rope'] == 'normal':
        # adjacent pairs as complex numbers (GPT-J / llama.cpp "normal")
        z = torch.view_as_complex(r.reshape(n, -1, rd // 2, 2).contiguous())
        z = z * torch.polar(torch.ones_like(ang), ang)[:, None, :]
        r = torch.view_as_real(z).reshape(n, -1, rd)
    else:
        # split halves (GPT-NeoX / HF rotate_half)
        cos = torch.cat([ang.cos(), ang.cos()], -1)[:, None, :]
        sin = torch.cat([ang.sin(), ang.sin()], -1)[:, None, :]
        rot = torch.cat([-r[..., rd // 2:], r[..., :rd // 2]], -1)
        r = r * cos + rot * sin
    return torch.cat([r, rest], -1)


def visible(n, attention, block_len, span, block_start=0, span_earlier=False):
    i = torch.arange(n)[:, None]
    j = torch.arange(n)[None, :]
    if attention == FULL:
        return torch.ones(n, n, dtype=torch.bool)
    if attention == CAUSAL:
        return j <= i
    if attention == BLOCK_CAUSAL:
        # positions before block_start (a prompt) are block 0; blocks of block_len follow
        def block(p):
            return torch.where(p < block_start, 0, 1 + (p - block_start).clamp(min=0) // block_len)
        return block(j) <= block(i)
    # planned diffusion (Israel et al. 2025): group 0 is the causal stream (context, plan,
    # tags, finished spans); a span (group g > 0) sees its own group both ways and the
    # stream up to its last group-0 position before it (everything there, earlier rounds'
    # spans included), or with span_earlier everything before it.
    s = torch.as_tensor(span)
    idx = torch.arange(n)
    last0 = torch.where(s == 0, idx, torch.full_like(idx, -1)).cummax(0).values  # last group-0 at or before
    ctx = torch.cat([torch.tensor([-1]), last0[:-1]])                             # ... strictly before i
    stream = (s == 0)[:, None]
    mine = s[None, :] == s[:, None]
    before = j <= ctx[:, None]
    if span_earlier:
        before = before | (j < i)
    return (stream & (j <= i)) | (~stream & (mine | before))


def attention_layer(c, x, W, il, mask):
    p = 'blk.%d.' % il
    n = x.shape[0]
    H, Hkv = c['heads'], c['kv_heads']
    hd = c['d'] // H
    q = linear(x, W(p + 'attn_q.weight'), W(p + 'attn_q.bias')).view(n, H, hd)
    k = linear(x, W(p + 'attn_k.weight'), W(p + 'attn_k.bias')).view(n, Hkv, hd)
    v = linear(x, W(p + 'attn_v.weight'), W(p + 'attn_v.bias')).view(n, Hkv, hd)
    if c['rope'] != 'none':
        q, k = rope(c, q), rope(c, k)
    k = k.repeat_interleave(H // Hkv, dim=1)   # query head h uses kv head h // (H/Hkv)
    v = v.repeat_interleave(H // Hkv, dim=1)
    s = torch.einsum('ihd,jhd->hij', q, k) / math.sqrt(hd)
    s = s.masked_fill(~mask[None], float('-inf'))
    o = torch.einsum('hij,jhd->ihd', torch.softmax(s, -1), v).reshape(n, c['d'])
    return linear(o, W(p + 'attn_output.weight'), W(p + 'attn_output.bias'))


def ffn_layer(c, x, W, il):
    p = 'blk.%d.' % il
    up = linear(x, W(p + 'ffn_up.weight'), W(p + 'ffn_up.bias'))
    if c['ffn'] == 'swiglu':
        h = F.silu(linear(x, W(p + 'ffn_gate.weight'), W(p + 'ffn_gate.bias'))) * up
    elif c['ffn'] == 'gelu':
        h = F.gelu(up)
    else:
        h = F.gelu(up, approximate='tanh')
    return linear(h, W(p + 'ffn_down.weight'), W(p + 'ffn_down.bias'))


def time_embedding(c, W, t):
    """DiT TimestepEmbedder then SiLU: c = silu(mlp(cat(cos, sin)(t * freqs)))."""
    half = c['freq_dim'] // 2
    freqs = torch.exp(-math.log(c['max_period']) * torch.arange(half, dtype=torch.float64) / half)
    args = float(t) * freqs
    e = torch.cat([torch.cos(args), torch.sin(args)])
    if c['freq_dim'] % 2:
        e = torch.cat([e, torch.zeros(1, dtype=torch.float64)])
    h = F.silu(linear(e, W('time_embd.in.weight'), W('time_embd.in.bias')))
    return F.silu(linear(h, W('time_embd.out.weight'), W('time_embd.out.bias')))


def forward(g, tokens, positions=None, t=None, attention=None, block_len=None, span=None, mix=None, embd=None,
            block_start=0, span_earlier=False):
    c = config(g)
    cache = {}

    def W(name):
        if name not in cache:
            cache[name] = tensor(g, name)
        return cache[name]

    tokens = torch.as_tensor(np.asarray(tokens, dtype=np.int64))
    n = tokens.shape[0]
    if attention is None:
        attention = BLOCK_CAUSAL if c['block'] else CAUSAL if c['causal'] else FULL
    block_len = block_len or c['block'] or 32
    mask = visible(n, attention, block_len, span, block_start, span_earlier)

    x = W('token_embd.weight')[tokens]
    if mix is not None:
        # vector inputs: position i's row is sum_j w_j E[id_j] over its (id, weight)
        # list; an empty list keeps the token's row (tdiff_denoiser_forward_mix)
        x = x.clone()
        for i, pairs in enumerate(mix):
            if pairs:
                x[i] = sum(float(wt) * W('token_embd.weight')[int(v)] for v, wt in pairs)
    if embd is not None:
        x = torch.as_tensor(np.asarray(embd, dtype=np.float64)).reshape(x.shape)
    if c['learned_pos']:
        x = x + W('position_embd.weight')[:n]
    if c['types']:
        x = x + W('token_types.weight')[0]
    if c['embd_norm']:
        x = norm(c, x, W('token_embd_norm.weight'), W('token_embd_norm.bias'))
    cond = time_embedding(c, W, t) if c['dit'] else None

    for il in range(c['layers']):
        p = 'blk.%d.' % il
        if c['post']:
            x = norm(c, x + attention_layer(c, x, W, il, mask), W(p + 'attn_norm.weight'), W(p + 'attn_norm.bias'))
            x = norm(c, x + ffn_layer(c, x, W, il), W(p + 'ffn_norm.weight'), W(p + 'ffn_norm.bias'))
            continue
        if c['dit']:
            sh1, sc1, g1, sh2, sc2, g2 = linear(cond, W(p + 'adaln.weight'), W(p + 'adaln.bias')).chunk(6)
        h = norm(c, x, W(p + 'attn_norm.weight'), W(p + 'attn_norm.bias'))
        if c['dit']:
            h = h * (1 + sc1) + sh1
        a = attention_layer(c, h, W, il, mask)
        x = x + (g1 * a if c['dit'] else a)
        h = norm(c, x, W(p + 'ffn_norm.weight'), W(p + 'ffn_norm.bias'))
        if c['dit']:
            h = h * (1 + sc2) + sh2
        f = ffn_layer(c, h, W, il)
        x = x + (g2 * f if c['dit'] else f)

    if c['final_norm']:
        x = norm(c, x, W('output_norm.weight'), W('output_norm.bias'))
        if c['dit']:
            sh, sc = linear(cond, W('output_adaln.weight'), W('output_adaln.bias')).chunk(2)
            x = x * (1 + sc) + sh
    if c['transform']:
        x = F.gelu(linear(x, W('output_transform.weight'), W('output_transform.bias')))
        x = norm(c, x, W('output_transform_norm.weight'), W('output_transform_norm.bias'))
    head = W('output.weight')
    if head is None:
        head = W('token_embd.weight')
    logits = linear(x, head, W('output.bias'))
    if c['shift']:
        logits = torch.cat([logits[:1], logits[:-1]], 0)
    if c.get('scale_by_sigma'):
        # SEDD: log-score relative to the current token; sigma small -> expm1
        s = torch.tensor(float(t), dtype=torch.float64)
        esigm1_log = torch.where(s < 0.5, torch.expm1(s), s.exp() - 1).log()
        logits = logits - esigm1_log - math.log(logits.shape[-1] - 1)
        logits = logits.scatter(-1, tokens[:, None], torch.zeros_like(logits[:, :1]))
    if positions is not None:
        logits = logits[torch.as_tensor(np.asarray(positions, dtype=np.int64))]
    return logits


if __name__ == '__main__':
    import argparse
    ap = argparse.ArgumentParser(description='reference logits for a GGUF model')
    ap.add_argument('model')
    ap.add_argument('--tokens', required=True)
    ap.add_argument('--positions')
    ap.add_argument('--t', type=float)
    ap.add_argument('-o', required=True, help='output .npy (float32 [n, V])')
    a = ap.parse_args()
    toks = [int(v) for v in a.tokens.split(',')]
    pos = [int(v) for v in a.positions.split(',')] if a.positions else None
    np.save(a.o, forward(gguf.read(a.model), toks, pos, a.t).numpy().astype(np.float32))
