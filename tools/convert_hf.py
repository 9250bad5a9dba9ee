#!/usr/bin/env python3
"""convert_hf.py -- a Hugging Face checkpoint directory -> one GGUF file libtextdiff
runs, streamed: tensors are read, converted and written a block of rows at a
time (16 MiB of float32 by default, --block-mib), so memory stays near a few
blocks plus Python and numpy whatever the model size; a 16 GB LLaDA-8B converts
on a laptop.

Architectures (from config.json "architectures", or --arch):
  llada  LLaDAModelLM (GSAI-ML LLaDA-8B Base/Instruct)  -> `llada`, the keys and
         tensor names llama.cpp's convert_hf_to_gguf.py writes (Q/K rows permuted so
         the adjacent-pair RoPE of llama.cpp equals the checkpoint's rotate_half)
  dream  DreamModel (Dream-org Dream-v0 Base/Instruct 7B, Qwen2 layout) -> `dream`,
         likewise exactly llama.cpp's keys and names
  bert   BertForMaskedLM                                  -> `tdiff` MLM preset
  mdlm   MDLM (kuleshov-group/mdlm-owt, DiT backbone)     -> `tdiff` DiT preset
  sedd   SEDD's DDiT (same layout; --arch sedd)           -> DiT + tdiff.time.scale_by_sigma
  bd3lm  BD3LM (kuleshov-group/bd3lm-owt-block_size{4,8,16}, DiT backbone) -> DiT +
         tdiff.attention.block_length = config.json block_size (block-causal attention)
Tokenizer, special tokens and chat template come from tokenizer.json /
vocab.json + merges.txt / vocab.txt, tokenizer_config.json and config.json of the
same directory (--tokenizer DIR for checkpoints that ship none, e.g. MDLM uses
GPT-2's). Without any, placeholder tokens make a file that runs on ids only.

Output types (--outtype, llama.cpp's names): f32, f16 (default, as llama.cpp),
bf16, q8_0, q4_0, auto (bf16 when the checkpoint holds bf16, else f16). As in
llama.cpp, 1-D tensors, norms, biases, position and token-type embeddings stay
F32, and a matrix whose rows are not a multiple of 32 falls back to F16 for the
block types. K-quants: convert to f16 (or bf16) here, then `textdiff quantize`.

usage: convert_hf.py MODEL_DIR [-o OUT.gguf] [--outtype TYPE] [--arch A]
                     [--tokenizer DIR] [--pre NAME] [--mask-id N] [--block-mib M] [-q]
Progress goes to stderr when it is a terminal; the last line names the file,
its size, the time taken and the peak memory of the process.
"""
import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf  # noqa: E402
import hf_tokenizer  # noqa: E402
from hf_checkpoint import Checkpoint  # noqa: E402

TYPES = {'f32': gguf.GGML_F32, 'f16': gguf.GGML_F16, 'bf16': gguf.GGML_BF16, 'q8_0': gguf.GGML_Q8_0,
         'q4_0': gguf.GGML_Q4_0}
# llama.cpp's LlamaFileType numbers for general.file_type
FILE_TYPES = {gguf.GGML_F32: 0, gguf.GGML_F16: 1, gguf.GGML_Q4_0: 2, gguf.GGML_Q8_0: 7, gguf.GGML_BF16: 32}
QUANT_VERSION = 2  # GGML_QUANT_VERSION: the block layouts written here
ARCHITECTURES = {'LLaDAModelLM': 'llada', 'DreamModel': 'dream', 'BertForMaskedLM': 'bert', 'MDLM': 'mdlm',
                 'BD3LM': 'bd3lm'}
BLOCK_MIB = 16  # float32 converted at once by default: the memory of one block (and its temporaries)


def size_label(n):
    """gguf-py's rounded parameter count: 8.0B, 124M, ..."""
    for scale, suffix in ((1e12, 'T'), (1e9, 'B'), (1e6, 'M'), (1, 'K')):
        if n > scale or suffix == 'K':
            v = n / (scale if suffix != 'K' else 1e3)
            fix = max(2 - len(str(round(v)).lstrip('0')), 0)
            return '%.*f%s' % (fix, v, suffix)


# ---------------------------------------------------------------- the output plan

class Plan:
    """Keys are added at once; tensors are announced with their source and
    converted only when the file is written."""

    def __init__(self, ck, ttype, block_mib=BLOCK_MIB):
        self.ck, self.ttype = ck, ttype
        self.block_values = max(1, int(block_mib * (1 << 20)) // 4)
        self.w = gguf.Writer()
        self.n_params = 0
        self.progress = None

    def _type(self, name, shape, keep_f32):
        if len(shape) < 2 or keep_f32 or name.endswith('_norm.weight') or not name.endswith('.weight'):
            return gguf.GGML_F32
        be = gguf.BLOCK[self.ttype][0]
        return gguf.GGML_F16 if shape[-1] % be else self.ttype  # llama.cpp's fallback for odd rows

    def tensor(self, name, src, rows=None, permute_heads=None, keep_f32=False):
        """Writes `name` from checkpoint tensor `src` (rows [a, b) of it when given),
        seen as a matrix [rows, cols]; permute_heads=n applies llama.cpp's Q/K
        permutation for n heads."""
        ck = self.ck
        a, b = rows if rows else (0, ck.n_rows(src))
        cols = ck.n_cols(src)
        shape = (b - a, cols) if len(ck.shape(src)) > 1 else (cols,)
        ttype = self._type(name, shape, keep_f32)
        step = max(1, self.block_values // cols)
        if permute_heads:
            head = (b - a) // permute_heads  # rows of one head
            step = max(head, step // head * head)
        self.n_params += (b - a) * cols

        def chunks():
            for r0 in range(a, b, step):
                x = ck.rows(src, r0, min(b, r0 + step))  # [rows, cols] float32
                if permute_heads:  # per head: rows i and i + head/2 become 2i and 2i+1
                    x = x.reshape(-1, 2, head // 2, cols).swapaxes(1, 2).reshape(x.shape)
                if self.progress:
                    self.progress(name, x.size)
                yield gguf.encode_tensor(x, ttype)

        ne = list(reversed(shape))
        self.w.add_tensor_stream(name, ttype, ne, gguf.tensor_nbytes(ttype, ne), chunks)


def hp(cfg, *names, default=None):
    for n in names:
        if cfg.get(n) is not None:
            return cfg[n]
    if default is None:
        raise KeyError('config.json has none of %s' % ', '.join(names))
    return default


# ---------------------------------------------------------------- llada / dream

def convert_llama_like(arch, ck, plan, tok):
    """The keys in llama.cpp's order: TextModel.set_gguf_parameters, then the
    architecture's own (a repeated key keeps its first place, as gguf-py's writer)."""
    cfg, w = ck.config, plan.w
    a = arch + '.'
    n_layer = hp(cfg, 'n_layers', 'num_hidden_layers')
    n_head = hp(cfg, 'num_attention_heads', 'n_heads')
    n_kv = cfg.get('num_key_value_heads', cfg.get('n_kv_heads')) or n_head
    d = hp(cfg, 'hidden_size', 'd_model')
    n_ctx = hp(cfg, 'max_position_embeddings', 'max_sequence_length', default=4096)
    w.add(a + 'block_count', int(n_layer), gguf.U32)
    w.add(a + 'context_length', int(n_ctx), gguf.U32)
    if arch == 'dream':
        w.add(a + 'embedding_length', int(d), gguf.U32)
        w.add(a + 'feed_forward_length', int(hp(cfg, 'intermediate_size')), gguf.U32)
    w.add(a + 'attention.head_count', int(n_head), gguf.U32)
    w.add(a + 'attention.head_count_kv', int(n_kv), gguf.U32)
    if cfg.get('rope_theta') is not None:
        w.add(a + 'rope.freq_base', float(cfg['rope_theta']), gguf.F32)
    w.add(a + 'attention.layer_norm_rms_epsilon', float(hp(cfg, 'rms_norm_eps')), gguf.F32)
    w.add('general.file_type', FILE_TYPES[plan.ttype], gguf.U32)
    if arch == 'llada':
        w.add(a + 'vocab_size', int(hp(cfg, 'vocab_size')), gguf.U32)
        w.add(a + 'rope.dimension_count', int(cfg.get('head_dim') or d // n_head), gguf.U32)
        w.add(a + 'embedding_length', int(d), gguf.U32)
        w.add(a + 'feed_forward_length', int(hp(cfg, 'mlp_hidden_size', default=12288)), gguf.U32)
    w.add(a + 'attention.causal', False, gguf.BOOL)
    if arch == 'llada':
        w.add('diffusion.shift_logits', False, gguf.BOOL)
    elif cfg.get('mask_token_id') is not None:
        w.add('tokenizer.ggml.mask_token_id', int(cfg['mask_token_id']), gguf.U32)
    w.add('general.quantization_version', QUANT_VERSION, gguf.U32)
    tok.add_gguf_keys(w)

    if arch == 'llada':
        top = {'model.transformer.wte.weight': 'token_embd.weight', 'model.transformer.ln_f.weight': 'output_norm.weight',
               'model.transformer.ff_out.weight': 'output.weight'}
        blk = {'attn_norm': 'attn_norm', 'q_proj': 'attn_q', 'k_proj': 'attn_k', 'v_proj': 'attn_v',
               'attn_out': 'attn_output', 'ff_norm': 'ffn_norm', 'ff_proj': 'ffn_gate', 'up_proj': 'ffn_up',
               'ff_out': 'ffn_down'}
        prefix = 'model.transformer.blocks.'
    else:
        top = {'model.embed_tokens.weight': 'token_embd.weight', 'model.norm.weight': 'output_norm.weight',
               'lm_head.weight': 'output.weight'}
        blk = {'input_layernorm': 'attn_norm', 'self_attn.q_proj': 'attn_q', 'self_attn.k_proj': 'attn_k',
               'self_attn.v_proj': 'attn_v', 'self_attn.o_proj': 'attn_output',
               'post_attention_layernorm': 'ffn_norm', 'mlp.gate_proj': 'ffn_gate', 'mlp.up_proj': 'ffn_up',
               'mlp.down_proj': 'ffn_down'}
        prefix = 'model.layers.'
    for src in ck.names():  # checkpoint order, as llama.cpp
        if src.endswith('.rotary_emb.inv_freq'):
            continue
        if src in top:
            plan.tensor(top[src], src)
            continue
        if not src.startswith(prefix):
            raise ValueError('tensor %s is not part of a %s checkpoint' % (src, arch))
        i, _, rest = src[len(prefix):].partition('.')
        part, _, suffix = rest.rpartition('.')
        if part not in blk or suffix not in ('weight', 'bias') or not i.isdigit() or int(i) >= n_layer:
            raise ValueError('tensor %s is not part of a %s checkpoint with %d layers' % (src, arch, n_layer))
        g = blk[part]
        heads = None
        if arch == 'llada' and g in ('attn_q', 'attn_k'):
            heads = n_head if g == 'attn_q' else n_kv
        plan.tensor('blk.%s.%s.%s' % (i, g, suffix), src, permute_heads=heads)


# ---------------------------------------------------------------- bert

def convert_bert(ck, plan, tok):
    cfg, w = ck.config, plan.w
    P = 'bert.' if any(k.startswith('bert.') for k in ck.names()) else ''
    names = {k.replace('.gamma', '.weight').replace('.beta', '.bias'): k for k in ck.names()}

    def src(n):
        if n not in names:
            raise KeyError('BertForMaskedLM checkpoint lacks %s' % n)
        return names[n]

    d, L = cfg['hidden_size'], cfg['num_hidden_layers']
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
    w.add('general.file_type', FILE_TYPES[plan.ttype], gguf.U32)
    w.add('general.quantization_version', QUANT_VERSION, gguf.U32)
    tok.add_gguf_keys(w)
    e = P + 'embeddings.'
    plan.tensor('token_embd.weight', src(e + 'word_embeddings.weight'))
    plan.tensor('position_embd.weight', src(e + 'position_embeddings.weight'), keep_f32=True)
    plan.tensor('token_types.weight', src(e + 'token_type_embeddings.weight'), keep_f32=True)
    plan.tensor('token_embd_norm.weight', src(e + 'LayerNorm.weight'))
    plan.tensor('token_embd_norm.bias', src(e + 'LayerNorm.bias'))
    for i in range(L):
        p = P + 'encoder.layer.%d.' % i
        for g, h in (('attn_q', 'attention.self.query'), ('attn_k', 'attention.self.key'),
                     ('attn_v', 'attention.self.value'), ('attn_output', 'attention.output.dense'),
                     ('ffn_up', 'intermediate.dense'), ('ffn_down', 'output.dense')):
            plan.tensor('blk.%d.%s.weight' % (i, g), src(p + h + '.weight'))
            plan.tensor('blk.%d.%s.bias' % (i, g), src(p + h + '.bias'))
        for g, h in (('attn_norm', 'attention.output.LayerNorm'), ('ffn_norm', 'output.LayerNorm')):
            plan.tensor('blk.%d.%s.weight' % (i, g), src(p + h + '.weight'))
            plan.tensor('blk.%d.%s.bias' % (i, g), src(p + h + '.bias'))
    c = 'cls.predictions.'
    plan.tensor('output_transform.weight', src(c + 'transform.dense.weight'))
    plan.tensor('output_transform.bias', src(c + 'transform.dense.bias'))
    plan.tensor('output_transform_norm.weight', src(c + 'transform.LayerNorm.weight'))
    plan.tensor('output_transform_norm.bias', src(c + 'transform.LayerNorm.bias'))
    dec = names.get(c + 'decoder.weight')
    if dec is not None and not ck.equal(dec, src(e + 'word_embeddings.weight')):
        plan.tensor('output.weight', dec)  # an untied decoder
    plan.tensor('output.bias', names.get(c + 'bias') or src(c + 'decoder.bias'))


# ---------------------------------------------------------------- mdlm / sedd

def convert_dit(ck, plan, tok, sedd, bd3=False):
    """MDLM / SEDD / BD3-LM: one DiT layout. BD3-LM's backbone (models/hf/modeling_bd3lm.py) is
    MDLM's DiT plus attention that is block-causal when sampling (a block sees itself and the
    blocks before it, blocks of config.json block_size from position 0): the file says so with
    tdiff.attention.block_length. Its extra state (rotary_emb.inv_freq, sampling_eps_min/max)
    is not read."""
    cfg, w = ck.config, plan.w
    pre = 'backbone.' if any(k.startswith('backbone.') for k in ck.names()) else ''

    def src(n):
        if not ck.has(pre + n):
            raise KeyError('DiT checkpoint lacks %s%s' % (pre, n))
        return pre + n

    V, d = ck.shape(src('vocab_embed.embedding'))
    L = sum(1 for k in ck.names() if k.endswith('.attn_qkv.weight'))
    C, Q = ck.shape(src('sigma_map.mlp.0.weight'))
    F = ck.shape(src('blocks.0.mlp.0.weight'))[0]
    for k, v in (('context_length', cfg.get('model_length', cfg.get('length', 1024))), ('embedding_length', d),
                 ('block_count', L), ('feed_forward_length', F), ('attention.head_count', cfg['n_heads']),
                 ('time.embedding_length', C), ('time.frequency_dim', Q)):
        w.add('tdiff.' + k, int(v), gguf.U32)
    w.add('tdiff.norm.type', 'layer')
    w.add('tdiff.norm.epsilon', 1e-5, gguf.F32)  # DiT's F.layer_norm default
    w.add('tdiff.norm.position', 'pre')
    w.add('tdiff.ffn.type', 'gelu_tanh')
    w.add('tdiff.rope.type', 'neox')
    w.add('tdiff.rope.freq_base', 10000.0, gguf.F32)  # DiT's Rotary(base=10000)
    w.add('tdiff.time.type', 'dit')
    if cfg.get('time_conditioning') is False:  # MDLM's default: the backbone always sees sigma = 0
        w.add('tdiff.time.conditioning', False)
    if sedd and cfg.get('scale_by_sigma', True):
        w.add('tdiff.time.scale_by_sigma', True)
    if bd3:
        if cfg.get('adaln') is False or cfg.get('causal') or cfg.get('cross_attn') is False:
            raise ValueError('BD3LM config: only adaln = true, causal = false, cross_attn = true (the released '
                             'checkpoints) is supported')
        w.add('tdiff.attention.block_length', int(cfg['block_size']), gguf.U32)
    w.add('general.file_type', FILE_TYPES[plan.ttype], gguf.U32)
    w.add('general.quantization_version', QUANT_VERSION, gguf.U32)
    tok.add_gguf_keys(w)
    plan.tensor('token_embd.weight', src('vocab_embed.embedding'))
    plan.tensor('time_embd.in.weight', src('sigma_map.mlp.0.weight'))
    plan.tensor('time_embd.in.bias', src('sigma_map.mlp.0.bias'))
    plan.tensor('time_embd.out.weight', src('sigma_map.mlp.2.weight'))
    plan.tensor('time_embd.out.bias', src('sigma_map.mlp.2.bias'))
    for i in range(L):
        p = 'blocks.%d.' % i
        qkv = src(p + 'attn_qkv.weight')  # rows: [q; k; v], d each
        for j, g in enumerate(('attn_q', 'attn_k', 'attn_v')):
            plan.tensor('blk.%d.%s.weight' % (i, g), qkv, rows=(j * d, (j + 1) * d))
        plan.tensor('blk.%d.attn_output.weight' % i, src(p + 'attn_out.weight'))
        plan.tensor('blk.%d.attn_norm.weight' % i, src(p + 'norm1.weight'))
        plan.tensor('blk.%d.ffn_norm.weight' % i, src(p + 'norm2.weight'))
        for g, h in (('ffn_up', 'mlp.0'), ('ffn_down', 'mlp.2'), ('adaln', 'adaLN_modulation')):
            plan.tensor('blk.%d.%s.weight' % (i, g), src(p + h + '.weight'))
            plan.tensor('blk.%d.%s.bias' % (i, g), src(p + h + '.bias'))
    plan.tensor('output_norm.weight', src('output_layer.norm_final.weight'))
    plan.tensor('output_adaln.weight', src('output_layer.adaLN_modulation.weight'))
    plan.tensor('output_adaln.bias', src('output_layer.adaLN_modulation.bias'))
    plan.tensor('output.weight', src('output_layer.linear.weight'))
    plan.tensor('output.bias', src('output_layer.linear.bias'))
    return V


# ---------------------------------------------------------------- driver

def detect_arch(ck):
    for a in ck.config.get('architectures') or []:
        if a in ARCHITECTURES:
            return ARCHITECTURES[a]
    if ck.config.get('model_type') in ('llada', 'dream', 'Dream', 'bert', 'mdlm', 'bd3lm'):
        return ck.config['model_type'].lower()
    raise ValueError('config.json architectures %r: not one of %s; pass --arch' %
                     (ck.config.get('architectures'), ', '.join(sorted(ARCHITECTURES))))


def embedding_rows(arch, ck):
    names = {'llada': 'model.transformer.wte.weight', 'dream': 'model.embed_tokens.weight'}
    if arch in names:
        return ck.shape(names[arch])[0]
    if arch == 'bert':
        n = [k for k in ck.names() if k.endswith('embeddings.word_embeddings.weight')]
        return ck.shape(n[0])[0]
    n = [k for k in ck.names() if k.endswith('vocab_embed.embedding')]
    return ck.shape(n[0])[0]


def load_tokenizer(arch, ck, a, n_vocab):
    d = a.tokenizer or ck.dir
    have = any(os.path.isfile(os.path.join(d, f)) for f in ('tokenizer.json', 'vocab.json', 'vocab.txt'))
    tok = hf_tokenizer.load(d, n_vocab, ck.config, pre=a.pre) if have else hf_tokenizer.placeholder(n_vocab)
    if arch == 'llada':
        tok.add['bos'] = True  # llama.cpp's LLaDA converter sets it, whatever the tokenizer says
    if a.mask_id is not None:
        tok.special['mask'] = a.mask_id
    if 'mask' not in tok.special and arch in ('mdlm', 'sedd', 'bd3lm') and tok.types[-1] == hf_tokenizer.UNUSED:
        # MDLM/SEDD append their mask as one extra embedding row after the tokenizer's vocabulary
        tok.special['mask'] = n_vocab - 1
        tok.tokens[-1], tok.types[-1] = '[MASK]', hf_tokenizer.CONTROL
    if arch == 'bd3lm':
        # BD3-LM's sampler starts at GPT-2's <|endoftext|> (BOS) and its variable-length mode stops at it
        # (EOS); a slow GPT-2 tokenizer (vocab.json + merges.txt) names them by text only, which gguf-py
        # resolves through tokenizer.json alone: look the texts up in the vocabulary instead
        tc = os.path.join(d, 'tokenizer_config.json')
        tc = hf_tokenizer._json(tc) if os.path.isfile(tc) else {}
        for typ in ('bos', 'eos'):
            text = tc.get(typ + '_token')
            text = text.get('content') if isinstance(text, dict) else text
            if typ not in tok.special and isinstance(text, str) and text in tok.tokens:
                tok.special[typ] = tok.tokens.index(text)
    if 'mask' not in tok.special:
        raise ValueError('no mask token: config.json has no mask_token_id and the tokenizer names none; '
                         'pass --mask-id N')
    return tok


class Progress:
    """tensor i/N, MB/s and time left on one stderr line (a terminal only)."""

    def __init__(self, total_values, n_tensors):
        self.total, self.n, self.done, self.t0, self.last = total_values, n_tensors, 0, time.time(), 0.0
        self.names = []

    def __call__(self, name, values):
        if not self.names or self.names[-1] != name:
            self.names.append(name)
        self.done += values
        now = time.time()
        if now - self.last < 0.2 and self.done < self.total:
            return
        self.last = now
        dt = max(now - self.t0, 1e-9)
        left = (self.total - self.done) / max(self.done / dt, 1e-9)
        sys.stderr.write('\r\033[Ktensor %d/%d %-28s %5.1f%%  %.0f Mvalues/s  %ds left' %
                         (len(self.names), self.n, name[:28], 100.0 * self.done / self.total, self.done / dt / 1e6,
                          left))
        sys.stderr.flush()


def convert(model_dir, out, outtype='f16', arch=None, tokenizer=None, pre=None, mask_id=None, quiet=True,
            block_mib=BLOCK_MIB):
    """The library form of the command line (the same steps)."""
    a = argparse.Namespace(tokenizer=tokenizer, pre=pre, mask_id=mask_id)
    ck = Checkpoint(model_dir)
    arch = arch or detect_arch(ck)
    if outtype == 'auto':
        outtype = 'bf16' if any(ck.dtype(n) == 'BF16' for n in ck.names()) else 'f16'
    plan = Plan(ck, TYPES[outtype], block_mib)
    w = plan.w
    w.add('general.architecture', arch if arch in ('llada', 'dream') else 'tdiff')
    w.add('general.type', 'model')
    w.add('general.name', os.path.basename(os.path.abspath(ck.dir)))
    w.add('general.size_label', size_label(ck.n_params()))
    tok = load_tokenizer(arch, ck, a, embedding_rows(arch, ck))
    if arch in ('llada', 'dream'):
        convert_llama_like(arch, ck, plan, tok)
    elif arch == 'bert':
        convert_bert(ck, plan, tok)
    elif arch in ('mdlm', 'sedd', 'bd3lm'):
        convert_dit(ck, plan, tok, arch == 'sedd', arch == 'bd3lm')
    else:
        raise ValueError('unknown architecture %r (llada, dream, bert, mdlm, sedd, bd3lm)' % arch)
    if not quiet and sys.stderr.isatty():
        plan.progress = Progress(plan.n_params, len(w.tensors))
    t0 = time.time()
    w.write(out)
    if plan.progress:
        sys.stderr.write('\r\033[K')
    return {'arch': arch, 'outtype': outtype, 'tensors': len(w.tensors), 'params': plan.n_params,
            'bytes': os.path.getsize(out), 'seconds': time.time() - t0}


def peak_memory_mib():
    """This process's peak resident memory: VmHWM (Linux; ru_maxrss would also count
    the parent's memory before exec), else ru_maxrss."""
    try:
        with open('/proc/self/status') as f:
            for line in f:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def main(argv=None):
    ap = argparse.ArgumentParser(description='Hugging Face checkpoint directory -> GGUF for libtextdiff (streamed)',
                                 epilog='K-quants: convert to f16 here, then `textdiff quantize IN.gguf OUT.gguf TYPE`.')
    ap.add_argument('model', help='checkpoint directory (config.json + safetensors), or one .safetensors file')
    ap.add_argument('-o', '--outfile', help='output file (default: MODEL_DIR/<name>-<TYPE>.gguf)')
    ap.add_argument('--outtype', '--type', default='f16', choices=sorted(TYPES) + ['auto'],
                    help='weight type of the matrices (default: f16)')
    ap.add_argument('--arch', choices=['llada', 'dream', 'bert', 'mdlm', 'sedd', 'bd3lm'],
                    help='architecture (default: from config.json "architectures")')
    ap.add_argument('--tokenizer', help='directory with the tokenizer files (default: MODEL_DIR)')
    ap.add_argument('--pre', help='tokenizer.ggml.pre name when the split pattern is not recognised')
    ap.add_argument('--mask-id', type=int, help='mask token id (default: config.json mask_token_id, or the tokenizer)')
    ap.add_argument('--block-mib', type=float, default=BLOCK_MIB,
                    help='float32 MiB converted at a time (default %d); memory use is a few times this' % BLOCK_MIB)
    ap.add_argument('-q', '--quiet', action='store_true', help='no progress and no summary line')
    a = ap.parse_args(argv)
    d = a.model if os.path.isdir(a.model) else os.path.dirname(os.path.abspath(a.model))
    out = a.outfile or os.path.join(d, '%s-%s.gguf' % (os.path.basename(os.path.abspath(d)), a.outtype.upper()))
    try:
        r = convert(a.model, out, a.outtype, a.arch, a.tokenizer, a.pre, a.mask_id, quiet=a.quiet,
                    block_mib=a.block_mib)
    except (ValueError, KeyError, FileNotFoundError) as e:
        sys.stderr.write('convert_hf: %s\n' % (e.args[0] if e.args else e))
        return 1
    peak = peak_memory_mib()
    if not a.quiet:
        print('wrote %s: %s, %s, %d tensors, %.1f MiB in %.1f s; peak memory %.0f MiB' %
              (out, r['arch'], r['outtype'].upper(), r['tensors'], r['bytes'] / 1048576.0, r['seconds'], peak))
    return 0


if __name__ == '__main__':
    sys.exit(main())
