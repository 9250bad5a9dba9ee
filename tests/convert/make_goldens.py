#!/usr/bin/env python3
"""make_goldens.py -- golden logits and chat prompts for check_convert.py (needs
Debian's python3-torch and python3-jinja2; CI runs the check with numpy alone).

For every case of synth.py the checkpoint directory is written, read here with a
few lines of our own (safetensors header + raw data, not tools/), and run through
a float64 PyTorch forward pass written from the original projects' model code:
  LLaDA  modeling_llada.py LLaDALlamaBlock: RMSNorm, q/k/v, rotate_half RoPE on the
         unpermuted heads (dim/2 halves), non-causal SDPA, SiLU(ff_proj) * up_proj
  Dream  modeling_dream.py (Qwen2): q/k/v biases, GQA by repeat_kv, lm_head; the
         logits shifted right by one as its generation_utils does
  MDLM   models/dit.py DIT: sigma_map TimestepEmbedder, adaLN modulate, fused qkv,
         rotary on q and k, weight-only LayerNorm, GELU(tanh) MLP, DDitFinalLayer
  BD3-LM models/hf/modeling_bd3lm.py DITBackbone in sample mode without a KV cache:
         MDLM's block, attention under the x0-x0 quarter of block_diff_mask (its
         block-causal part: query block >= key block, blocks of block_size from 0),
         SDPA's boolean-mask semantics, rotary applied to the packed qkv (v untouched)
  BERT   transformers BertForMaskedLM: post-LN encoder, erf GELU, prediction head
         tied to the word embeddings
The chat prompts are rendered with jinja2 from the templates the checkpoints carry,
with the inputs llama.cpp's llama-diffusion-cli gives its template (messages,
bos_token/eos_token = the texts of the file's BOS/EOS tokens, add_generation_prompt),
then post-processed as its common/chat.cpp does (a leading BOS text dropped when the
tokenizer adds BOS): "prompt" is the text llama.cpp tokenizes (add + parse special).

Writes data/<case>.npy (float32 [N, V] logits) and data/goldens.json (per case:
token ids, sigma, the sha256 of every weight file; chat: rendered prompts).
Usage: /usr/bin/python3 tests/convert/make_goldens.py   (deterministic, ~2 s)
"""
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synth  # noqa: E402

DATA = os.path.join(HERE, 'data')
SIGMA = 1.3  # the time value the MDLM case is run with
torch.set_default_dtype(torch.float64)


def load(d):
    """{name: float64 tensor} of every F32/BF16 tensor in the directory's safetensors."""
    out = {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith('.safetensors'):
            continue
        with open(os.path.join(d, fn), 'rb') as f:
            b = f.read()
        n = struct.unpack_from('<Q', b)[0]
        for name, info in json.loads(b[8:8 + n]).items():
            if name == '__metadata__' or info['dtype'] not in ('F32', 'BF16'):
                continue
            lo, hi = info['data_offsets']
            raw = b[8 + n + lo: 8 + n + hi]
            if info['dtype'] == 'BF16':
                a = (np.frombuffer(raw, '<u2').astype(np.uint32) << 16).view(np.float32)
            else:
                a = np.frombuffer(raw, '<f4')
            out[name] = torch.from_numpy(a.astype(np.float64).reshape(info['shape']))
    return out


def rms_norm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def rope(x, base):
    """x [heads, T, hd]: cos/sin of cat(freqs, freqs), as LLaDA's, Qwen2's and DiT's Rotary."""
    hd, T = x.shape[-1], x.shape[-2]
    inv = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    return x * emb.cos() + rotate_half(x) * emb.sin()


def attention(q, k, v, n_head, n_kv, base):
    """q [T, H*hd], k/v [T, Hkv*hd] -> [T, H*hd]; full (bidirectional) attention."""
    T = q.shape[0]
    hd = q.shape[1] // n_head
    q = q.view(T, n_head, hd).transpose(0, 1)
    k = k.view(T, n_kv, hd).transpose(0, 1)
    v = v.view(T, n_kv, hd).transpose(0, 1)
    if base:
        q, k = rope(q, base), rope(k, base)
    k = k.repeat_interleave(n_head // n_kv, dim=0)  # repeat_kv: head h reads kv head h // rep
    v = v.repeat_interleave(n_head // n_kv, dim=0)
    p = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(hd), dim=-1)
    return (p @ v).transpose(0, 1).reshape(T, n_head * hd)


def llada(sd, cfg, tok):
    P = 'model.transformer.'
    eps, H, Hkv = cfg['rms_norm_eps'], cfg['n_heads'], cfg['n_kv_heads']
    x = sd[P + 'wte.weight'][tok]
    for i in range(cfg['n_layers']):
        b = P + 'blocks.%d.' % i
        h = rms_norm(x, sd[b + 'attn_norm.weight'], eps)
        att = attention(F.linear(h, sd[b + 'q_proj.weight']), F.linear(h, sd[b + 'k_proj.weight']),
                        F.linear(h, sd[b + 'v_proj.weight']), H, Hkv, cfg['rope_theta'])
        x = x + F.linear(att, sd[b + 'attn_out.weight'])
        h = rms_norm(x, sd[b + 'ff_norm.weight'], eps)
        x = x + F.linear(F.silu(F.linear(h, sd[b + 'ff_proj.weight'])) * F.linear(h, sd[b + 'up_proj.weight']),
                         sd[b + 'ff_out.weight'])
    return F.linear(rms_norm(x, sd[P + 'ln_f.weight'], eps), sd[P + 'ff_out.weight'])


def dream(sd, cfg, tok):
    eps, H, Hkv = cfg['rms_norm_eps'], cfg['num_attention_heads'], cfg['num_key_value_heads']
    x = sd['model.embed_tokens.weight'][tok]
    for i in range(cfg['num_hidden_layers']):
        b = 'model.layers.%d.' % i
        s = b + 'self_attn.'
        h = rms_norm(x, sd[b + 'input_layernorm.weight'], eps)
        att = attention(F.linear(h, sd[s + 'q_proj.weight'], sd[s + 'q_proj.bias']),
                        F.linear(h, sd[s + 'k_proj.weight'], sd[s + 'k_proj.bias']),
                        F.linear(h, sd[s + 'v_proj.weight'], sd[s + 'v_proj.bias']), H, Hkv, cfg['rope_theta'])
        x = x + F.linear(att, sd[s + 'o_proj.weight'])
        h = rms_norm(x, sd[b + 'post_attention_layernorm.weight'], eps)
        m = b + 'mlp.'
        x = x + F.linear(F.silu(F.linear(h, sd[m + 'gate_proj.weight'])) * F.linear(h, sd[m + 'up_proj.weight']),
                         sd[m + 'down_proj.weight'])
    logits = F.linear(rms_norm(x, sd['model.norm.weight'], eps), sd['lm_head.weight'])
    return torch.cat([logits[:1], logits[:-1]], dim=0)  # generation_utils: position i reads logits of i - 1


def mdlm(sd, cfg, tok, sigma):
    sd = {k[len('backbone.'):]: v for k, v in sd.items()}
    d, H = cfg['hidden_dim'], cfg['n_heads']
    half = sd['sigma_map.mlp.0.weight'].shape[1] // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half)
    t = torch.tensor([sigma])[:, None] * freqs[None]
    c = F.silu(F.linear(F.silu(F.linear(torch.cat([torch.cos(t), torch.sin(t)], -1)[0], sd['sigma_map.mlp.0.weight'],
                                        sd['sigma_map.mlp.0.bias'])), sd['sigma_map.mlp.2.weight'],
                        sd['sigma_map.mlp.2.bias']))
    x = sd['vocab_embed.embedding'][tok]

    def ln(x, w):
        return F.layer_norm(x, [d]) * w  # DiT LayerNorm: no bias, eps 1e-5

    for i in range(cfg['n_blocks']):
        p = 'blocks.%d.' % i
        sh1, sc1, g1, sh2, sc2, g2 = F.linear(c, sd[p + 'adaLN_modulation.weight'],
                                              sd[p + 'adaLN_modulation.bias']).chunk(6)
        h = ln(x, sd[p + 'norm1.weight']) * (1 + sc1) + sh1
        qkv = F.linear(h, sd[p + 'attn_qkv.weight'])  # (three h d)
        att = attention(qkv[:, :d], qkv[:, d:2 * d], qkv[:, 2 * d:], H, H, 10000.0)
        x = x + g1 * F.linear(att, sd[p + 'attn_out.weight'])
        h = ln(x, sd[p + 'norm2.weight']) * (1 + sc2) + sh2
        x = x + g2 * F.linear(F.gelu(F.linear(h, sd[p + 'mlp.0.weight'], sd[p + 'mlp.0.bias']), approximate='tanh'),
                              sd[p + 'mlp.2.weight'], sd[p + 'mlp.2.bias'])
    sh, sc = F.linear(c, sd['output_layer.adaLN_modulation.weight'], sd['output_layer.adaLN_modulation.bias']).chunk(2)
    x = ln(x, sd['output_layer.norm_final.weight']) * (1 + sc) + sh
    return F.linear(x, sd['output_layer.linear.weight'], sd['output_layer.linear.bias'])


def block_diff_mask(q_idx, kv_idx, block_size, n):
    """BD3-LM's training mask over [x_t; x_0] (2n positions): block-diagonal inside each
    half, x_t blocks see earlier x_0 blocks, x_0 blocks see x_0 blocks up to their own."""
    x0_q, x0_kv = q_idx >= n, kv_idx >= n
    bq = torch.where(x0_q, (q_idx - n) // block_size, q_idx // block_size)
    bkv = torch.where(x0_kv, (kv_idx - n) // block_size, kv_idx // block_size)
    diagonal = (bq == bkv) & (x0_q == x0_kv)
    offset_causal = (bq > bkv) & x0_kv & ~x0_q
    causal = (bq >= bkv) & x0_kv & x0_q
    return diagonal | offset_causal | causal


def bd3lm(sd, cfg, tok):
    """DITBackbone.forward(indices, sigma = 0, sample_mode = True), kv_cache None."""
    sd = {k[len('backbone.'):]: v for k, v in sd.items() if k.startswith('backbone.')}
    d, H, bs, n = cfg['hidden_dim'], cfg['n_heads'], cfg['block_size'], cfg['model_length']
    T, hd = len(tok), cfg['hidden_dim'] // cfg['n_heads']
    full = block_diff_mask(torch.arange(2 * n)[:, None], torch.arange(2 * n)[None, :], bs, n)
    mask = full[n:n + T, n:n + T]  # sample mode: the x0 rows and columns of the first T positions
    half = sd['sigma_map.mlp.0.weight'].shape[1] // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float64) / half)
    sig = torch.zeros(1)  # time_conditioning false: sigma = zeros_like(sigma)
    arg = sig[:, None] * freqs[None]
    c = F.silu(F.linear(F.silu(F.linear(torch.cat([torch.cos(arg), torch.sin(arg)], -1)[0],
                                        sd['sigma_map.mlp.0.weight'], sd['sigma_map.mlp.0.bias'])),
                        sd['sigma_map.mlp.2.weight'], sd['sigma_map.mlp.2.bias']))
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    emb = torch.cat([torch.outer(torch.arange(T, dtype=torch.float64), inv)] * 2, -1)
    cos = emb.cos()[:, None, None, :].repeat(1, 3, 1, 1)  # [T, three, 1, hd]
    sin = emb.sin()[:, None, None, :].repeat(1, 3, 1, 1)
    cos[:, 2], sin[:, 2] = 1.0, 0.0  # the rotation of v is the identity
    x = sd['vocab_embed.embedding'][tok]

    def ln(x, w):
        return F.layer_norm(x, [d]) * w

    for i in range(cfg['n_blocks']):
        p = 'blocks.%d.' % i
        sh1, sc1, g1, sh2, sc2, g2 = F.linear(c, sd[p + 'adaLN_modulation.weight'],
                                              sd[p + 'adaLN_modulation.bias']).chunk(6)
        h = ln(x, sd[p + 'norm1.weight']) * (1 + sc1) + sh1
        qkv = F.linear(h, sd[p + 'attn_qkv.weight']).view(T, 3, H, hd)  # 'b s (three h d)'
        qkv = qkv * cos + rotate_half(qkv) * sin
        q, k, v = (qkv[:, j].transpose(0, 1) for j in range(3))  # [H, T, hd]
        # F.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=1/sqrt(hd)) spelled out (torch 1.13
        # has none): a boolean mask keeps the True entries, the others get -inf before the softmax
        a = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        att = torch.softmax(a.masked_fill(~mask, float('-inf')), dim=-1) @ v
        x = x + g1 * F.linear(att.transpose(0, 1).reshape(T, d), sd[p + 'attn_out.weight'])
        h = ln(x, sd[p + 'norm2.weight']) * (1 + sc2) + sh2
        x = x + g2 * F.linear(F.gelu(F.linear(h, sd[p + 'mlp.0.weight'], sd[p + 'mlp.0.bias']), approximate='tanh'),
                              sd[p + 'mlp.2.weight'], sd[p + 'mlp.2.bias'])
    sh, sc = F.linear(c, sd['output_layer.adaLN_modulation.weight'], sd['output_layer.adaLN_modulation.bias']).chunk(2)
    x = ln(x, sd['output_layer.norm_final.weight']) * (1 + sc) + sh
    return F.linear(x, sd['output_layer.linear.weight'], sd['output_layer.linear.bias'])


def bert(sd, cfg, tok):
    sd = {k.replace('.gamma', '.weight').replace('.beta', '.bias'): v for k, v in sd.items()}
    e, eps, d, H = 'bert.embeddings.', cfg['layer_norm_eps'], cfg['hidden_size'], cfg['num_attention_heads']

    def lin(x, n):
        return F.linear(x, sd[n + '.weight'], sd[n + '.bias'])

    def norm(x, n):
        return F.layer_norm(x, [d], sd[n + '.weight'], sd[n + '.bias'], eps)

    x = sd[e + 'word_embeddings.weight'][tok] + sd[e + 'position_embeddings.weight'][:len(tok)] + \
        sd[e + 'token_type_embeddings.weight'][0]
    x = norm(x, e + 'LayerNorm')
    for i in range(cfg['num_hidden_layers']):
        p = 'bert.encoder.layer.%d.' % i
        att = attention(lin(x, p + 'attention.self.query'), lin(x, p + 'attention.self.key'),
                        lin(x, p + 'attention.self.value'), H, H, None)
        x = norm(lin(att, p + 'attention.output.dense') + x, p + 'attention.output.LayerNorm')
        x = norm(lin(F.gelu(lin(x, p + 'intermediate.dense')), p + 'output.dense') + x, p + 'output.LayerNorm')
    c = 'cls.predictions.'
    h = norm(F.gelu(lin(x, c + 'transform.dense')), c + 'transform.LayerNorm')
    return F.linear(h, sd[e + 'word_embeddings.weight'], sd[c + 'bias'])


# mdlm-owt says time_conditioning = false: MDLM then feeds its backbone sigma = 0 whatever
# the step's sigma (diffusion.py), so the converted file must ignore the --t the check passes
FORWARD = {'llada-instruct': llada, 'llada-gqa': llada, 'dream-instruct': dream,
           'mdlm-owt': lambda sd, cfg, tok: mdlm(sd, cfg, tok, SIGMA if cfg['time_conditioning'] else 0.0),
           'bd3lm-owt': bd3lm, 'bert-mlm': bert}

# Conversations llama-diffusion-cli builds: [system,] user (its -p / --system)
CHATS = [[('user', 'the cat sat on the mat')],
         [('system', 'Answer briefly.'), ('user', '  What is a diffusion model?\n')]]


def render(template, bos, eos, msgs):
    import jinja2  # Debian python3-jinja2; only here, to render the reference prompts
    env = jinja2.Environment(trim_blocks=False, lstrip_blocks=False)
    return env.from_string(template).render(messages=[{'role': r, 'content': c} for r, c in msgs],
                                            bos_token=bos, eos_token=eos, add_generation_prompt=True)


def chat_goldens(d, case):
    tc = json.load(open(os.path.join(d, 'tokenizer_config.json'), encoding='utf-8'))
    cfg = json.load(open(os.path.join(d, 'config.json')))
    names = {int(i): t['content'] for i, t in tc['added_tokens_decoder'].items()}
    # the texts of the converted file's BOS/EOS ids (what llama.cpp hands its template)
    bos = tc.get('bos_token') or names[cfg['bos_token_id']]
    eos = tc.get('eos_token') or names[cfg['eos_token_id']]
    # llama.cpp's post-processing (common/chat.cpp): the BOS text goes when the tokenizer adds
    # BOS itself (LLaDA files say add_bos_token = true), the EOS text likewise (none says so here)
    add_bos = case.startswith('llada')
    out = []
    for m in CHATS:
        text = render(tc['chat_template'], bos, eos, m)
        prompt = text[len(bos):] if add_bos and text.startswith(bos) else text
        out.append({'messages': m, 'rendered': text, 'prompt': prompt})
    return out


def main():
    os.makedirs(DATA, exist_ok=True)
    meta = {'sigma': SIGMA, 'cases': {}}
    with tempfile.TemporaryDirectory() as tmp:
        for case in sorted(synth.CASES):
            d = synth.write(case, os.path.join(tmp, case))
            cfg = json.load(open(os.path.join(d, 'config.json')))
            sd = load(d)
            n_vocab = cfg['vocab_size']
            tok = synth.tokens(case, n_vocab)
            logits = FORWARD[case](sd, cfg, torch.tensor(tok))
            np.save(os.path.join(DATA, case + '.npy'), logits.numpy().astype(np.float32))
            entry = {'tokens': tok, 'sha256': synth.digest(d), 'max_abs_logit': float(logits.abs().max())}
            if case in ('llada-instruct', 'dream-instruct'):
                entry['chat'] = chat_goldens(d, case)
            meta['cases'][case] = entry
            print('%-15s V=%d max|logit| %.3f' % (case, n_vocab, entry['max_abs_logit']))
    with open(os.path.join(DATA, 'goldens.json'), 'w', encoding='utf-8') as f:
        json.dump(meta, f, indent=1, ensure_ascii=False)
        f.write('\n')


if __name__ == '__main__':
    main()
