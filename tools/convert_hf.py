"""convert_hf.py -- writes GGUF files libtextdiff's denoiser runs from Hugging
Face-style checkpoints (the tensor names of the original projects):

  llada  GSAI-ML LLaDA (model.transformer.blocks.N.q_proj, ff_proj, ...) -> `llada`
         exactly as llama.cpp's converter writes it (Q/K rows permuted so llama.cpp's
         adjacent-pair RoPE equals the checkpoint's rotate_half RoPE)
  dream  Dream (Qwen2 names: model.layers.N.self_attn.q_proj, mlp.gate_proj, ...) -> `dream`
  bert   BertForMaskedLM (bert.encoder.layer.N..., cls.predictions...) -> `tdiff` MLM preset
  mdlm   MDLM DIT backbone (vocab_embed, sigma_map, blocks.N.attn_qkv, adaLN_modulation,
         output_layer; an optional `backbone.` prefix is dropped) -> `tdiff` DiT preset
  sedd   SEDD's DDiT (the same layout) -> `tdiff` DiT preset with tdiff.time.scale_by_sigma
         (config `scale_by_sigma`, default true as in SEDD's absorbing models)

Input: a .safetensors file (read with numpy, no extra package) or a PyTorch state
dict (.bin/.pt/.pth, needs torch), plus the model's config.json. Vocabulary: a
tokenizer.json (byte-level BPE -> `gpt2`, WordPiece -> `bert`) or, without one,
placeholder tokens "<tok_i>" so the file loads (text I/O then needs a real one).

Usage: convert_hf.py KIND CHECKPOINT CONFIG.json -o OUT.gguf [--tokenizer tokenizer.json]
                     [--type f32|f16|bf16|q8_0|q4_0] [--mask-id N]
As a library: convert(kind, state_dict, config, out_path, ttype=GGML_F32, vocab=None, mask_id=None)
with state_dict a {name: numpy array} mapping and vocab (tokens, types, merges, model_name) or None.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402

TYPES = {'f32': gguf.GGML_F32, 'f16': gguf.GGML_F16, 'bf16': gguf.GGML_BF16, 'q8_0': gguf.GGML_Q8_0,
         'q4_0': gguf.GGML_Q4_0}


# ---------------------------------------------------------------- reading checkpoints

def read_safetensors(path):
    """{name: float32 array} from a .safetensors file (F32/F16/BF16 tensors)."""
    with open(path, 'rb') as f:
        b = f.read()
    n = struct.unpack_from('<Q', b, 0)[0]
    header = json.loads(b[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        lo, hi = info['data_offsets']
        raw = b[base + lo: base + hi]
        dt = info['dtype']
        if dt == 'F32':
            a = np.frombuffer(raw, '<f4')
        elif dt == 'F16':
            a = np.frombuffer(raw, '<f2').astype(np.float32)
        elif dt == 'BF16':
            a = gguf.bf16_to_f32(np.frombuffer(raw, '<u2'))
        else:
            raise ValueError('%s: unsupported dtype %s' % (name, dt))
        out[name] = a.reshape(info['shape']).astype(np.float32)
    return out


def write_safetensors(path, tensors):
    """F32 .safetensors writer (used by the tests to build checkpoints)."""
    header, off, blobs = {}, 0, []
    for name, a in tensors.items():
        raw = np.ascontiguousarray(a, '<f4').tobytes()
        header[name] = {'dtype': 'F32', 'shape': list(a.shape), 'data_offsets': [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(blobs))


def read_checkpoint(path):
    if path.endswith('.safetensors'):
        return read_safetensors(path)
    import torch  # only for pickled PyTorch state dicts
    sd = torch.load(path, map_location='cpu')
    if 'state_dict' in sd and isinstance(sd['state_dict'], dict):
        sd = sd['state_dict']
    return {k: v.float().numpy() for k, v in sd.items() if hasattr(v, 'float')}


def read_tokenizer(path):
    """(tokens, types, merges, model name) from a Hugging Face tokenizer.json."""
    with open(path, encoding='utf-8') as f:
        tj = json.load(f)
    model = tj['model']
    vocab = dict(model['vocab'])
    for t in tj.get('added_tokens', []):
        vocab[t['content']] = t['id']
    n = max(vocab.values()) + 1
    tokens = ['[PAD%d]' % i for i in range(n)]
    types = [5] * n  # unused until seen
    special = {t['content'] for t in tj.get('added_tokens', []) if t.get('special')}
    for tok, i in vocab.items():
        tokens[i] = tok
        types[i] = 3 if tok in special else 1
    if model['type'] == 'BPE':
        merges = [m if isinstance(m, str) else ' '.join(m) for m in model.get('merges', [])]
        return tokens, types, merges, 'gpt2'
    return tokens, types, None, 'bert'


def placeholder_vocab(n):
    return ['<tok_%d>' % i for i in range(n)], [1] * n, None, 'none'


# ---------------------------------------------------------------- helpers

def permute_rope(w, n_head):
    """rotate_half (split halves) -> adjacent pairs: per head, row i of the first
    half and row i of the second half become rows 2i and 2i+1 (llama.cpp's permute)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def add_vocab(w, vocab, n_vocab, mask_id):
    tokens, types, merges, model_name = vocab if vocab else placeholder_vocab(n_vocab)
    if len(tokens) < n_vocab:  # checkpoints often pad the embedding beyond the tokenizer
        tokens = list(tokens) + ['[PAD%d]' % i for i in range(len(tokens), n_vocab)]
        types = list(types) + [5] * (n_vocab - len(types))
    tokens, types = tokens[:n_vocab], types[:n_vocab]
    w.add('tokenizer.ggml.model', model_name)
    w.add_array('tokenizer.ggml.tokens', tokens, gguf.STRING)
    w.add_array('tokenizer.ggml.token_type', types, gguf.I32)
    if merges:
        w.add_array('tokenizer.ggml.merges', merges, gguf.STRING)
    if mask_id is None:
        raise ValueError('a mask token id is required (--mask-id)')
    w.add('tokenizer.ggml.mask_token_id', int(mask_id), gguf.U32)


def matrix_type(ttype, a):
    """Block types need rows that are a multiple of 32; other rows stay F32."""
    if ttype in (gguf.GGML_Q8_0, gguf.GGML_Q4_0) and a.shape[-1] % 32:
        return gguf.GGML_F32
    return ttype


class Out:
    def __init__(self, ttype):
        self.w = gguf.Writer()
        self.ttype = ttype

    def mat(self, name, a):
        self.w.add_tensor(name, np.asarray(a, np.float32), matrix_type(self.ttype, a))

    def vec(self, name, a):
        self.w.add_tensor(name, np.asarray(a, np.float32), gguf.GGML_F32)


# ---------------------------------------------------------------- architectures

def convert_llama_like(kind, sd, cfg, o):
    if kind == 'llada':
        d, H = cfg['d_model'], cfg['n_heads']
        Hkv = cfg.get('n_kv_heads') or H
        L, F = cfg['n_layers'], cfg['mlp_hidden_size']
        ctx, eps = cfg.get('max_sequence_length', 4096), cfg.get('rms_norm_eps', 1e-5)
        base = cfg.get('rope_theta', 10000.0)
        P = 'model.transformer.'
        names = {'embd': P + 'wte.weight', 'norm': P + 'ln_f.weight', 'out': P + 'ff_out.weight'}
        blk = {'attn_norm': 'attn_norm', 'attn_q': 'q_proj', 'attn_k': 'k_proj', 'attn_v': 'v_proj',
               'attn_output': 'attn_out', 'ffn_norm': 'ff_norm', 'ffn_gate': 'ff_proj', 'ffn_up': 'up_proj',
               'ffn_down': 'ff_out'}
        lp = P + 'blocks.%d.'
    else:
        d, H = cfg['hidden_size'], cfg['num_attention_heads']
        Hkv = cfg.get('num_key_value_heads') or H
        L, F = cfg['num_hidden_layers'], cfg['intermediate_size']
        ctx, eps = cfg.get('max_position_embeddings', 4096), cfg.get('rms_norm_eps', 1e-6)
        base = cfg.get('rope_theta', 10000.0)
        names = {'embd': 'model.embed_tokens.weight', 'norm': 'model.norm.weight', 'out': 'lm_head.weight'}
        blk = {'attn_norm': 'input_layernorm', 'attn_q': 'self_attn.q_proj', 'attn_k': 'self_attn.k_proj',
               'attn_v': 'self_attn.v_proj', 'attn_output': 'self_attn.o_proj',
               'ffn_norm': 'post_attention_layernorm', 'ffn_gate': 'mlp.gate_proj', 'ffn_up': 'mlp.up_proj',
               'ffn_down': 'mlp.down_proj'}
        lp = 'model.layers.%d.'
    emb = sd[names['embd']]
    V = emb.shape[0]
    w = o.w
    w.add('general.architecture', kind)
    w.add('general.name', cfg.get('_name_or_path', kind))
    a = kind + '.'
    for k, v in (('context_length', ctx), ('embedding_length', d), ('block_count', L), ('feed_forward_length', F),
                 ('attention.head_count', H), ('attention.head_count_kv', Hkv), ('rope.dimension_count', d // H),
                 ('vocab_size', V)):
        w.add(a + k, int(v), gguf.U32)
    w.add(a + 'attention.layer_norm_rms_epsilon', float(eps), gguf.F32)
    w.add(a + 'rope.freq_base', float(base), gguf.F32)
    w.add(a + 'attention.causal', False, gguf.BOOL)
    if kind == 'llada':
        w.add('diffusion.shift_logits', False, gguf.BOOL)  # dream: absent = shifted, as llama.cpp writes it
    return names, blk, lp, V, H, Hkv, L


def convert_llama_tensors(kind, sd, o, names, blk, lp, H, Hkv, L):
    o.mat('token_embd.weight', sd[names['embd']])
    o.vec('output_norm.weight', sd[names['norm']])
    if names['out'] in sd:
        o.mat('output.weight', sd[names['out']])
    for i in range(L):
        for g, h in blk.items():
            wt = sd[(lp % i) + h + '.weight']
            bias = sd.get((lp % i) + h + '.bias')
            if kind == 'llada' and g in ('attn_q', 'attn_k'):
                n = H if g == 'attn_q' else Hkv
                wt = permute_rope(wt, n)
                bias = None if bias is None else permute_rope(bias, n)
            if g.endswith('norm'):
                o.vec('blk.%d.%s.weight' % (i, g), wt)
            else:
                o.mat('blk.%d.%s.weight' % (i, g), wt)
            if bias is not None:
                o.vec('blk.%d.%s.bias' % (i, g), bias)


def convert_bert(sd, cfg, o):
    P = 'bert.' if any(k.startswith('bert.') for k in sd) else ''
    w = o.w
    d, L = cfg['hidden_size'], cfg['num_hidden_layers']
    emb = sd[P + 'embeddings.word_embeddings.weight']
    w.add('general.architecture', 'tdiff')
    w.add('general.name', cfg.get('_name_or_path', 'bert'))
    for k, v in (('context_length', cfg['max_position_embeddings']), ('embedding_length', d), ('block_count', L),
                 ('feed_forward_length', cfg['intermediate_size']),
                 ('attention.head_count', cfg['num_attention_heads']), ('token_types', cfg.get('type_vocab_size', 2))):
        w.add('tdiff.' + k, int(v), gguf.U32)
    w.add('tdiff.norm.type', 'layer')
    w.add('tdiff.norm.epsilon', float(cfg.get('layer_norm_eps', 1e-12)), gguf.F32)
    w.add('tdiff.norm.position', 'post')
    w.add('tdiff.ffn.type', 'gelu' if cfg.get('hidden_act', 'gelu') == 'gelu' else 'gelu_tanh')
    w.add('tdiff.rope.type', 'none')
    w.add('tdiff.position.learned', True)
    w.add('tdiff.embedding.norm', True)
    w.add('tdiff.head.transform', True)
    return emb.shape[0], P


def convert_bert_tensors(sd, cfg, o, P):
    e = P + 'embeddings.'
    o.mat('token_embd.weight', sd[e + 'word_embeddings.weight'])
    o.mat('position_embd.weight', sd[e + 'position_embeddings.weight'])
    o.mat('token_types.weight', sd[e + 'token_type_embeddings.weight'])
    o.vec('token_embd_norm.weight', sd[e + 'LayerNorm.weight'])
    o.vec('token_embd_norm.bias', sd[e + 'LayerNorm.bias'])
    for i in range(cfg['num_hidden_layers']):
        p = P + 'encoder.layer.%d.' % i
        for g, h in (('attn_q', 'attention.self.query'), ('attn_k', 'attention.self.key'),
                     ('attn_v', 'attention.self.value'), ('attn_output', 'attention.output.dense'),
                     ('ffn_up', 'intermediate.dense'), ('ffn_down', 'output.dense')):
            o.mat('blk.%d.%s.weight' % (i, g), sd[p + h + '.weight'])
            o.vec('blk.%d.%s.bias' % (i, g), sd[p + h + '.bias'])
        for g, h in (('attn_norm', 'attention.output.LayerNorm'), ('ffn_norm', 'output.LayerNorm')):
            o.vec('blk.%d.%s.weight' % (i, g), sd[p + h + '.weight'])
            o.vec('blk.%d.%s.bias' % (i, g), sd[p + h + '.bias'])
    c = 'cls.predictions.'
    o.mat('output_transform.weight', sd[c + 'transform.dense.weight'])
    o.vec('output_transform.bias', sd[c + 'transform.dense.bias'])
    o.vec('output_transform_norm.weight', sd[c + 'transform.LayerNorm.weight'])
    o.vec('output_transform_norm.bias', sd[c + 'transform.LayerNorm.bias'])
    dec = sd.get(c + 'decoder.weight')
    if dec is not None and not np.array_equal(dec, sd[e + 'word_embeddings.weight']):
        o.mat('output.weight', dec)  # untied decoder
    o.vec('output.bias', sd.get(c + 'bias', sd.get(c + 'decoder.bias')))


def convert_mdlm(sd, cfg, o, sedd=False):
    sd = {k[len('backbone.'):] if k.startswith('backbone.') else k: v for k, v in sd.items()}
    emb = sd['vocab_embed.embedding']
    V, d = emb.shape
    L = sum(1 for k in sd if k.endswith('.attn_qkv.weight'))
    C = sd['sigma_map.mlp.0.weight'].shape[0]
    Q = sd['sigma_map.mlp.0.weight'].shape[1]
    F = sd['blocks.0.mlp.0.weight'].shape[0]
    w = o.w
    w.add('general.architecture', 'tdiff')
    w.add('general.name', cfg.get('name', 'mdlm-dit'))
    for k, v in (('context_length', cfg.get('length', 1024)), ('embedding_length', d), ('block_count', L),
                 ('feed_forward_length', F), ('attention.head_count', cfg['n_heads']),
                 ('time.embedding_length', C), ('time.frequency_dim', Q)):
        w.add('tdiff.' + k, int(v), gguf.U32)
    w.add('tdiff.norm.type', 'layer')
    w.add('tdiff.norm.epsilon', 1e-5, gguf.F32)
    w.add('tdiff.norm.position', 'pre')
    w.add('tdiff.ffn.type', 'gelu_tanh')
    w.add('tdiff.rope.type', 'neox')
    w.add('tdiff.rope.freq_base', 10000.0, gguf.F32)
    w.add('tdiff.time.type', 'dit')
    if sedd and cfg.get('scale_by_sigma', True):
        w.add('tdiff.time.scale_by_sigma', True)
    return V, sd, L, d


def convert_mdlm_tensors(sd, o, L, d):
    o.mat('token_embd.weight', sd['vocab_embed.embedding'])
    o.mat('time_embd.in.weight', sd['sigma_map.mlp.0.weight'])
    o.vec('time_embd.in.bias', sd['sigma_map.mlp.0.bias'])
    o.mat('time_embd.out.weight', sd['sigma_map.mlp.2.weight'])
    o.vec('time_embd.out.bias', sd['sigma_map.mlp.2.bias'])
    for i in range(L):
        p = 'blocks.%d.' % i
        qkv = sd[p + 'attn_qkv.weight']  # rows: (three h d) = [q; k; v]
        o.mat('blk.%d.attn_q.weight' % i, qkv[:d])
        o.mat('blk.%d.attn_k.weight' % i, qkv[d:2 * d])
        o.mat('blk.%d.attn_v.weight' % i, qkv[2 * d:])
        o.mat('blk.%d.attn_output.weight' % i, sd[p + 'attn_out.weight'])
        o.vec('blk.%d.attn_norm.weight' % i, sd[p + 'norm1.weight'])
        o.vec('blk.%d.ffn_norm.weight' % i, sd[p + 'norm2.weight'])
        o.mat('blk.%d.ffn_up.weight' % i, sd[p + 'mlp.0.weight'])
        o.vec('blk.%d.ffn_up.bias' % i, sd[p + 'mlp.0.bias'])
        o.mat('blk.%d.ffn_down.weight' % i, sd[p + 'mlp.2.weight'])
        o.vec('blk.%d.ffn_down.bias' % i, sd[p + 'mlp.2.bias'])
        o.mat('blk.%d.adaln.weight' % i, sd[p + 'adaLN_modulation.weight'])
        o.vec('blk.%d.adaln.bias' % i, sd[p + 'adaLN_modulation.bias'])
    o.vec('output_norm.weight', sd['output_layer.norm_final.weight'])
    o.mat('output_adaln.weight', sd['output_layer.adaLN_modulation.weight'])
    o.vec('output_adaln.bias', sd['output_layer.adaLN_modulation.bias'])
    o.mat('output.weight', sd['output_layer.linear.weight'])
    o.vec('output.bias', sd['output_layer.linear.bias'])


def convert(kind, sd, cfg, out_path, ttype=gguf.GGML_F32, vocab=None, mask_id=None):
    o = Out(ttype)
    if kind in ('llada', 'dream'):
        names, blk, lp, V, H, Hkv, L = convert_llama_like(kind, sd, cfg, o)
        add_vocab(o.w, vocab, V, mask_id)
        convert_llama_tensors(kind, sd, o, names, blk, lp, H, Hkv, L)
    elif kind == 'bert':
        V, P = convert_bert(sd, cfg, o)
        add_vocab(o.w, vocab, V, mask_id)
        convert_bert_tensors(sd, cfg, o, P)
    elif kind in ('mdlm', 'sedd'):
        V, sd2, L, d = convert_mdlm(sd, cfg, o, sedd=kind == 'sedd')
        add_vocab(o.w, vocab, V, mask_id)
        convert_mdlm_tensors(sd2, o, L, d)
    else:
        raise ValueError('unknown kind %r (llada, dream, bert, mdlm, sedd)' % kind)
    o.w.write(out_path)


def main():
    ap = argparse.ArgumentParser(description='Hugging Face-style checkpoint -> GGUF for libtextdiff')
    ap.add_argument('kind', choices=['llada', 'dream', 'bert', 'mdlm', 'sedd'])
    ap.add_argument('checkpoint')
    ap.add_argument('config')
    ap.add_argument('-o', required=True)
    ap.add_argument('--tokenizer')
    ap.add_argument('--type', default='f32', choices=sorted(TYPES))
    ap.add_argument('--mask-id', type=int)
    a = ap.parse_args()
    with open(a.config) as f:
        cfg = json.load(f)
    vocab = read_tokenizer(a.tokenizer) if a.tokenizer else None
    mask = a.mask_id
    if mask is None and vocab:
        for name in ('<|mdm_mask|>', '[MASK]', '<mask>'):
            if name in vocab[0]:
                mask = vocab[0].index(name)
                break
    if mask is None:
        mask = {'llada': 126336, 'dream': 151666}.get(a.kind)
    convert(a.kind, read_checkpoint(a.checkpoint), cfg, a.o, TYPES[a.type], vocab, mask)
    print('wrote', a.o)


if __name__ == '__main__':
    main()
