"""check_convert_hf.py -- tools/convert_hf.py end to end, numpy only: random
Hugging Face-style state dicts with the original projects' tensor names (LLaDA,
Dream/Qwen2, BertForMaskedLM, MDLM and SEDD DiT) are saved as .safetensors, converted to
GGUF, run through `textdiff forward`, and compared with a small numpy forward
pass written against the ORIGINAL layout (rotate_half RoPE on unpermuted Q/K,
fused qkv, HF names). Tolerance max|d| <= 1e-4 * max(1, max|ref|) (F32).
Usage: check_convert_hf.py TEXTDIFF_EXE"""
import json
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', '..', 'tools'))
import convert_hf  # noqa: E402

V, D, H, L, F, N = 300, 64, 4, 2, 96, 18
rng = np.random.default_rng(11)
erf = np.frompyfunc(math.erf, 1, 1)


def r(*shape, s=0.15):
    return (rng.standard_normal(shape) * s).astype(np.float32)


def nw(n):
    return (1 + 0.3 * rng.standard_normal(n)).astype(np.float32)


# ---------------------------------------------------------------- numpy forward passes (original layouts)

def lin(x, w, b=None):
    y = x @ w.T.astype(np.float64)
    return y if b is None else y + b


def rms(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    y = (x - mu) / np.sqrt(var + eps) * w
    return y if b is None else y + b


def rope_half(x, base):
    """HF rotate_half on [n, heads, hd]."""
    n, _, hd = x.shape
    inv = base ** (-np.arange(0, hd, 2) / hd)
    ang = np.arange(n)[:, None] * inv[None, :]
    cos = np.concatenate([np.cos(ang)] * 2, -1)[:, None, :]
    sin = np.concatenate([np.sin(ang)] * 2, -1)[:, None, :]
    rot = np.concatenate([-x[..., hd // 2:], x[..., :hd // 2]], -1)
    return x * cos + rot * sin


def attend(q, k, v, n_head, n_kv, base):
    n = q.shape[0]
    hd = q.shape[1] // n_head
    q, k, v = q.reshape(n, n_head, hd), k.reshape(n, n_kv, hd), v.reshape(n, n_kv, hd)
    if base:
        q, k = rope_half(q, base), rope_half(k, base)
    k, v = np.repeat(k, n_head // n_kv, 1), np.repeat(v, n_head // n_kv, 1)
    s = np.einsum('ihd,jhd->hij', q, k) / math.sqrt(hd)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return np.einsum('hij,jhd->ihd', p, v).reshape(n, -1)


def silu(x):
    return x / (1 + np.exp(-x))


def gelu(x):
    return 0.5 * x * (1 + erf(x / math.sqrt(2)).astype(np.float64))


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def llada_ref(sd, cfg, tok):
    P = 'model.transformer.'
    x = sd[P + 'wte.weight'][tok].astype(np.float64)
    for i in range(cfg['n_layers']):
        b = P + 'blocks.%d.' % i
        h = rms(x, sd[b + 'attn_norm.weight'], cfg['rms_norm_eps'])
        a = attend(lin(h, sd[b + 'q_proj.weight']), lin(h, sd[b + 'k_proj.weight']), lin(h, sd[b + 'v_proj.weight']),
                   cfg['n_heads'], cfg['n_kv_heads'], cfg['rope_theta'])
        x = x + lin(a, sd[b + 'attn_out.weight'])
        h = rms(x, sd[b + 'ff_norm.weight'], cfg['rms_norm_eps'])
        x = x + lin(silu(lin(h, sd[b + 'ff_proj.weight'])) * lin(h, sd[b + 'up_proj.weight']), sd[b + 'ff_out.weight'])
    return lin(rms(x, sd[P + 'ln_f.weight'], cfg['rms_norm_eps']), sd[P + 'ff_out.weight'])


def dream_ref(sd, cfg, tok):
    x = sd['model.embed_tokens.weight'][tok].astype(np.float64)
    eps = cfg['rms_norm_eps']
    for i in range(cfg['num_hidden_layers']):
        b = 'model.layers.%d.' % i
        h = rms(x, sd[b + 'input_layernorm.weight'], eps)
        s = b + 'self_attn.'
        a = attend(lin(h, sd[s + 'q_proj.weight'], sd[s + 'q_proj.bias']),
                   lin(h, sd[s + 'k_proj.weight'], sd[s + 'k_proj.bias']),
                   lin(h, sd[s + 'v_proj.weight'], sd[s + 'v_proj.bias']),
                   cfg['num_attention_heads'], cfg['num_key_value_heads'], cfg['rope_theta'])
        x = x + lin(a, sd[s + 'o_proj.weight'])
        h = rms(x, sd[b + 'post_attention_layernorm.weight'], eps)
        m = b + 'mlp.'
        x = x + lin(silu(lin(h, sd[m + 'gate_proj.weight'])) * lin(h, sd[m + 'up_proj.weight']),
                    sd[m + 'down_proj.weight'])
    raw = lin(rms(x, sd['model.norm.weight'], eps), sd['lm_head.weight'])
    return np.concatenate([raw[:1], raw[:-1]])  # Dream predicts token i from position i - 1


def bert_ref(sd, cfg, tok):
    e = 'bert.embeddings.'
    eps = cfg['layer_norm_eps']
    x = (sd[e + 'word_embeddings.weight'][tok] + sd[e + 'position_embeddings.weight'][:len(tok)] +
         sd[e + 'token_type_embeddings.weight'][0]).astype(np.float64)
    x = layer_norm(x, sd[e + 'LayerNorm.weight'], sd[e + 'LayerNorm.bias'], eps)
    for i in range(cfg['num_hidden_layers']):
        p = 'bert.encoder.layer.%d.' % i
        g = lambda n, h: lin(h, sd[p + n + '.weight'], sd[p + n + '.bias'])  # noqa: E731
        a = attend(g('attention.self.query', x), g('attention.self.key', x), g('attention.self.value', x),
                   cfg['num_attention_heads'], cfg['num_attention_heads'], None)
        x = layer_norm(x + g('attention.output.dense', a), sd[p + 'attention.output.LayerNorm.weight'],
                       sd[p + 'attention.output.LayerNorm.bias'], eps)
        x = layer_norm(x + g('output.dense', gelu(g('intermediate.dense', x))), sd[p + 'output.LayerNorm.weight'],
                       sd[p + 'output.LayerNorm.bias'], eps)
    c = 'cls.predictions.'
    t = gelu(lin(x, sd[c + 'transform.dense.weight'], sd[c + 'transform.dense.bias']))
    t = layer_norm(t, sd[c + 'transform.LayerNorm.weight'], sd[c + 'transform.LayerNorm.bias'], eps)
    return lin(t, sd[e + 'word_embeddings.weight'], sd[c + 'bias'])


def mdlm_ref(sd, cfg, tok, sigma):
    sd = {k[len('backbone.'):]: v for k, v in sd.items()}
    x = sd['vocab_embed.embedding'][tok].astype(np.float64)
    half = sd['sigma_map.mlp.0.weight'].shape[1] // 2
    f = np.exp(-math.log(10000) * np.arange(half) / half)
    c = silu(lin(silu(lin(np.concatenate([np.cos(sigma * f), np.sin(sigma * f)]), sd['sigma_map.mlp.0.weight'],
                          sd['sigma_map.mlp.0.bias'])), sd['sigma_map.mlp.2.weight'], sd['sigma_map.mlp.2.bias']))
    d = x.shape[1]
    for i in range(sum(1 for k in sd if k.endswith('attn_qkv.weight'))):
        p = 'blocks.%d.' % i
        sh1, sc1, g1, sh2, sc2, g2 = np.split(lin(c, sd[p + 'adaLN_modulation.weight'], sd[p + 'adaLN_modulation.bias']), 6)
        h = layer_norm(x, sd[p + 'norm1.weight'], None, 1e-5) * (1 + sc1) + sh1
        qkv = lin(h, sd[p + 'attn_qkv.weight'])
        a = attend(qkv[:, :d], qkv[:, d:2 * d], qkv[:, 2 * d:], cfg['n_heads'], cfg['n_heads'], 10000.0)
        x = x + g1 * lin(a, sd[p + 'attn_out.weight'])
        h = layer_norm(x, sd[p + 'norm2.weight'], None, 1e-5) * (1 + sc2) + sh2
        x = x + g2 * lin(gelu_tanh(lin(h, sd[p + 'mlp.0.weight'], sd[p + 'mlp.0.bias'])), sd[p + 'mlp.2.weight'],
                         sd[p + 'mlp.2.bias'])
    sh, sc = np.split(lin(c, sd['output_layer.adaLN_modulation.weight'], sd['output_layer.adaLN_modulation.bias']), 2)
    x = layer_norm(x, sd['output_layer.norm_final.weight'], None, 1e-5) * (1 + sc) + sh
    return lin(x, sd['output_layer.linear.weight'], sd['output_layer.linear.bias'])


def sedd_ref(sd, cfg, tok, sigma):
    """SEDD scale_by_sigma on top of the DiT logits."""
    x = mdlm_ref(sd, cfg, tok, sigma)
    x = x - math.log(math.expm1(sigma)) - math.log(x.shape[-1] - 1)
    x[np.arange(len(tok)), tok] = 0
    return x


# ---------------------------------------------------------------- random checkpoints

def llada_sd(n_kv):
    P = 'model.transformer.'
    sd = {P + 'wte.weight': r(V, D), P + 'ln_f.weight': nw(D), P + 'ff_out.weight': r(V, D)}
    for i in range(L):
        b = P + 'blocks.%d.' % i
        sd.update({b + 'attn_norm.weight': nw(D), b + 'q_proj.weight': r(D, D), b + 'k_proj.weight': r(n_kv * 16, D),
                   b + 'v_proj.weight': r(n_kv * 16, D), b + 'attn_out.weight': r(D, D), b + 'ff_norm.weight': nw(D),
                   b + 'ff_proj.weight': r(F, D), b + 'up_proj.weight': r(F, D), b + 'ff_out.weight': r(D, F)})
    cfg = {'d_model': D, 'n_heads': H, 'n_kv_heads': n_kv, 'n_layers': L, 'mlp_hidden_size': F,
           'max_sequence_length': 64, 'rope_theta': 500000.0, 'rms_norm_eps': 1e-5}
    return sd, cfg


def dream_sd():
    sd = {'model.embed_tokens.weight': r(V, D), 'model.norm.weight': nw(D), 'lm_head.weight': r(V, D)}
    for i in range(L):
        b = 'model.layers.%d.' % i
        s = b + 'self_attn.'
        sd.update({b + 'input_layernorm.weight': nw(D), s + 'q_proj.weight': r(D, D), s + 'q_proj.bias': r(D),
                   s + 'k_proj.weight': r(32, D), s + 'k_proj.bias': r(32), s + 'v_proj.weight': r(32, D),
                   s + 'v_proj.bias': r(32), s + 'o_proj.weight': r(D, D), b + 'post_attention_layernorm.weight': nw(D),
                   b + 'mlp.gate_proj.weight': r(F, D), b + 'mlp.up_proj.weight': r(F, D),
                   b + 'mlp.down_proj.weight': r(D, F)})
    cfg = {'hidden_size': D, 'num_attention_heads': H, 'num_key_value_heads': 2, 'num_hidden_layers': L,
           'intermediate_size': F, 'max_position_embeddings': 64, 'rope_theta': 1e6, 'rms_norm_eps': 1e-6}
    return sd, cfg


def bert_sd():
    e = 'bert.embeddings.'
    sd = {e + 'word_embeddings.weight': r(V, D), e + 'position_embeddings.weight': r(64, D),
          e + 'token_type_embeddings.weight': r(2, D), e + 'LayerNorm.weight': nw(D), e + 'LayerNorm.bias': r(D)}
    for i in range(L):
        p = 'bert.encoder.layer.%d.' % i
        for n, rows, cols in (('attention.self.query', D, D), ('attention.self.key', D, D),
                              ('attention.self.value', D, D), ('attention.output.dense', D, D),
                              ('intermediate.dense', F, D), ('output.dense', D, F)):
            sd[p + n + '.weight'], sd[p + n + '.bias'] = r(rows, cols), r(rows)
        for n in ('attention.output.LayerNorm', 'output.LayerNorm'):
            sd[p + n + '.weight'], sd[p + n + '.bias'] = nw(D), r(D)
    c = 'cls.predictions.'
    sd.update({c + 'transform.dense.weight': r(D, D), c + 'transform.dense.bias': r(D),
               c + 'transform.LayerNorm.weight': nw(D), c + 'transform.LayerNorm.bias': r(D), c + 'bias': r(V),
               c + 'decoder.weight': sd[e + 'word_embeddings.weight']})
    cfg = {'hidden_size': D, 'num_attention_heads': H, 'num_hidden_layers': L, 'intermediate_size': F,
           'max_position_embeddings': 64, 'type_vocab_size': 2, 'layer_norm_eps': 1e-12, 'hidden_act': 'gelu'}
    return sd, cfg


def mdlm_sd():
    C, Q = 32, 256
    b = 'backbone.'
    sd = {b + 'vocab_embed.embedding': r(V, D), b + 'sigma_map.mlp.0.weight': r(C, Q, s=0.1),
          b + 'sigma_map.mlp.0.bias': r(C), b + 'sigma_map.mlp.2.weight': r(C, C, s=0.3), b + 'sigma_map.mlp.2.bias': r(C)}
    for i in range(L):
        p = b + 'blocks.%d.' % i
        sd.update({p + 'norm1.weight': nw(D), p + 'attn_qkv.weight': r(3 * D, D), p + 'attn_out.weight': r(D, D),
                   p + 'norm2.weight': nw(D), p + 'mlp.0.weight': r(4 * D, D), p + 'mlp.0.bias': r(4 * D),
                   p + 'mlp.2.weight': r(D, 4 * D), p + 'mlp.2.bias': r(D), p + 'adaLN_modulation.weight': r(6 * D, C, s=0.3),
                   p + 'adaLN_modulation.bias': r(6 * D)})
    o = b + 'output_layer.'
    sd.update({o + 'norm_final.weight': nw(D), o + 'linear.weight': r(V, D), o + 'linear.bias': r(V),
               o + 'adaLN_modulation.weight': r(2 * D, C, s=0.3), o + 'adaLN_modulation.bias': r(2 * D)})
    return sd, {'n_heads': H, 'length': 64}


def main():
    exe = sys.argv[1]
    tok = rng.integers(0, V, N)
    sigma = 1.3
    cases = [('llada', *llada_sd(H), llada_ref), ('llada', *llada_sd(2), llada_ref), ('dream', *dream_sd(), dream_ref),
             ('bert', *bert_sd(), bert_ref), ('mdlm', *mdlm_sd(), lambda s, c, t: mdlm_ref(s, c, t, sigma)),
             ('sedd', *mdlm_sd(), lambda s, c, t: sedd_ref(s, c, t, sigma))]
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i, (kind, sd, cfg, ref_fn) in enumerate(cases):
            st = os.path.join(tmp, '%d.safetensors' % i)
            convert_hf.write_safetensors(st, sd)
            cj = os.path.join(tmp, '%d.json' % i)
            with open(cj, 'w') as f:
                json.dump(cfg, f)
            out = os.path.join(tmp, '%d.gguf' % i)
            subprocess.run([sys.executable, os.path.join(HERE, '..', '..', 'tools', 'convert_hf.py'), kind, st, cj,
                            '-o', out, '--mask-id', str(V - 1)], check=True, stdout=subprocess.DEVNULL)
            npy = os.path.join(tmp, '%d.npy' % i)
            cmd = [exe, 'forward', out, '--tokens', ','.join(map(str, tok)), '-o', npy]
            if kind in ('mdlm', 'sedd'):
                cmd += ['--t', repr(sigma)]
            subprocess.run(cmd, check=True)
            got = np.load(npy).astype(np.float64)
            ref = ref_fn(sd, cfg, tok)
            diff = float(np.abs(got - ref).max()) if got.shape == ref.shape else float('inf')
            bound = 1e-4 * max(1.0, float(np.abs(ref).max()))
            ok = diff <= bound and float(np.abs(ref).max()) > 0.1
            bad += not ok
            print('%-6s max|ref| %.3g max|diff| %.3g bound %.3g %s' % (kind, float(np.abs(ref).max()), diff, bound,
                                                                      'ok' if ok else 'FAIL'))
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
