"""synth.py -- synthetic Hugging Face checkpoints in the real layouts, numpy only.

Each case is a directory the way the hub ships the model, scaled down and with
random weights: config.json with the real keys, weights as safetensors (sharded
with model.safetensors.index.json for the 7-8B models, in their bf16), the
tokenizer files of the real repository (tokenizer.json for LLaDA, slow
vocab.json + merges.txt for Dream, vocab.txt for BERT, none for MDLM, which
uses GPT-2's) and tokenizer_config.json with the real chat templates.

The draws come from numpy's legacy RandomState, whose stream numpy keeps
fixed across versions, so make_goldens.py (torch) and check_convert.py (CI,
numpy only) build byte-identical files; sha256 sums in the goldens prove it.

API: CASES (name -> writer), write(case, directory) -> directory,
     write_llada_wide(directory, n_layers) (the memory test's bigger checkpoint),
     N_TOKENS, tokens(case) -> the ids the goldens use.
"""
import hashlib
import json
import os
import struct

import numpy as np

N_TOKENS = 18
LETTERS = 'etaoinsrh'


def gpt2_bytes():
    """GPT-2's bytes_to_unicode symbols, in byte order."""
    keep = list(range(33, 127)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, n = [], 0
    for b in range(256):
        if b in keep:
            out.append(chr(b))
        else:
            out.append(chr(256 + n))
            n += 1
    return out


def byte_bpe():
    """(tokens, merges): 256 byte symbols, then letter pairs and space-letter merges."""
    tokens, merges = gpt2_bytes(), []
    for a in LETTERS:
        for b in LETTERS:
            merges.append((a, b))
    for a in 'abcdefghijklmnopqrstuvwxyz':
        merges.append(('\u0120', a))  # U+0120 is the space symbol
    merges.append(('\u0120t', 'he'))
    tokens += [a + b for a, b in merges]
    return tokens, merges


# ---------------------------------------------------------------- writing safetensors

def _bf16(x):
    u = np.ascontiguousarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return (((u + 0x7fff + ((u >> 16) & 1)) >> 16) & 0xffff).astype('<u2')


def write_safetensors(path, tensors, dtype):
    """tensors: list of (name, array); dtype 'F32' or 'BF16' (integers as I64)."""
    header, blobs, off = {}, [], 0
    for name, a in tensors:
        if a.dtype.kind in 'iu':
            raw, dt = np.ascontiguousarray(a, '<i8').tobytes(), 'I64'
        elif dtype == 'BF16':
            raw, dt = _bf16(a).tobytes(), 'BF16'
        else:
            raw, dt = np.ascontiguousarray(a, '<f4').tobytes(), 'F32'
        header[name] = {'dtype': dt, 'shape': list(a.shape), 'data_offsets': [off, off + len(raw)]}
        off += len(raw)
        blobs.append(raw)
    header['__metadata__'] = {'format': 'pt'}
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h)
        for b in blobs:
            f.write(b)


def write_sharded(d, tensors, dtype, n_shards):
    """model-0000k-of-0000n.safetensors + model.safetensors.index.json (tensors spread round-robin)."""
    shards = [[] for _ in range(n_shards)]
    for i, t in enumerate(tensors):
        shards[i % n_shards].append(t)
    weight_map, total = {}, 0
    for k, part in enumerate(shards):
        fname = 'model-%05d-of-%05d.safetensors' % (k + 1, n_shards)
        part.sort(key=lambda t: t[0])  # the safetensors library writes names sorted
        write_safetensors(os.path.join(d, fname), part, dtype)
        for name, a in part:
            weight_map[name] = fname
            total += a.size * (2 if dtype == 'BF16' else 4)
    _dump(os.path.join(d, 'model.safetensors.index.json'),
          {'metadata': {'total_size': total}, 'weight_map': dict(sorted(weight_map.items()))})


def _dump(path, obj):
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)


def _added(entries):
    """tokenizer_config added_tokens_decoder from [(id, text)]."""
    return {str(i): {'content': t, 'lstrip': False, 'normalized': False, 'rstrip': False, 'single_word': False,
                     'special': True} for i, t in entries}


class Rand:
    def __init__(self, seed):
        self.rs = np.random.RandomState(seed)

    def w(self, *shape, s=0.15):
        return (self.rs.standard_normal(shape) * s).astype(np.float32)

    def norm(self, n):
        return (1 + 0.3 * self.rs.standard_normal(n)).astype(np.float32)


# ---------------------------------------------------------------- LLaDA-8B-Instruct layout

LLADA_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
                  "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
                  "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
                  "{{ content }}{% endfor %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}")
LLAMA3_SPLIT = ("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
                "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+")


def llada_specials(n_normal):
    names = ['<|startoftext|>', '<|endoftext|>', '[CLS]', '[gMASK]'] + ['<|reserved_token_%d|>' % i for i in range(4)]
    names += ['<|mdm_mask|>', '<role>', '</role>', '<|start_header_id|>', '<|end_header_id|>', '<|eot_id|>']
    return [(n_normal + i, t) for i, t in enumerate(names)]


def write_llada(d, d_model=64, n_heads=4, n_kv_heads=4, n_layers=2, ff=172, n_vocab=400, seed=1, n_shards=3):
    """LLaDA-8B-Instruct: LLaDAModelLM, OLMo names, bf16 shards, a fast tokenizer.json."""
    os.makedirs(d, exist_ok=True)
    tokens, merges = byte_bpe()
    spec = llada_specials(len(tokens))
    ids = dict(spec)
    mask = [i for i, t in spec if t == '<|mdm_mask|>'][0]
    _dump(os.path.join(d, 'config.json'), {
        'activation_type': 'silu', 'alibi': False, 'architectures': ['LLaDAModelLM'], 'attention_dropout': 0.0,
        'attention_layer_norm': False, 'auto_map': {'AutoConfig': 'configuration_llada.LLaDAConfig',
                                                    'AutoModel': 'modeling_llada.LLaDAModelLM'},
        'bias_for_layer_norm': False, 'block_type': 'llama', 'd_model': d_model, 'embedding_size': n_vocab,
        'eos_token_id': [i for i, t in spec if t == '<|endoftext|>'][0], 'include_bias': False,
        'include_qkv_bias': False, 'layer_norm_type': 'rms', 'mask_token_id': mask, 'max_sequence_length': 4096,
        'mlp_hidden_size': ff, 'mlp_ratio': 4, 'model_type': 'llada', 'n_heads': n_heads, 'n_kv_heads': n_kv_heads,
        'n_layers': n_layers, 'pad_token_id': [i for i, t in spec if t == '<|endoftext|>'][0], 'rms_norm_eps': 1e-05,
        'rope': True, 'rope_theta': 500000.0, 'scale_logits': False, 'vocab_size': n_vocab, 'weight_tying': False})
    vocab = {t: i for i, t in enumerate(tokens)}
    _dump(os.path.join(d, 'tokenizer.json'), {
        'version': '1.0', 'truncation': None, 'padding': None,
        'added_tokens': [{'id': i, 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False,
                          'normalized': False, 'special': True} for i, t in spec],
        'normalizer': None,
        'pre_tokenizer': {'type': 'Sequence', 'pretokenizers': [
            {'type': 'Split', 'pattern': {'Regex': LLAMA3_SPLIT}, 'behavior': 'Isolated', 'invert': False},
            {'type': 'ByteLevel', 'add_prefix_space': False, 'trim_offsets': True, 'use_regex': False}]},
        'post_processor': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': False, 'use_regex': True},
        'decoder': {'type': 'ByteLevel', 'add_prefix_space': True, 'trim_offsets': True, 'use_regex': True},
        'model': {'type': 'BPE', 'dropout': None, 'unk_token': None, 'continuing_subword_prefix': None,
                  'end_of_word_suffix': None, 'fuse_unk': False, 'byte_fallback': False, 'ignore_merges': False,
                  'vocab': vocab, 'merges': [list(m) for m in merges]}})
    _dump(os.path.join(d, 'tokenizer_config.json'), {
        'add_bos_token': False, 'add_eos_token': False, 'added_tokens_decoder': _added(spec),
        'bos_token': '<|startoftext|>', 'chat_template': LLADA_TEMPLATE, 'clean_up_tokenization_spaces': False,
        'cls_token': '[CLS]', 'eos_token': '<|endoftext|>', 'model_max_length': 1000000000000000019884624838656,
        'pad_token': '<|endoftext|>', 'tokenizer_class': 'PreTrainedTokenizerFast'})
    r = Rand(seed)
    P = 'model.transformer.'
    hd = d_model // n_heads
    t = [(P + 'wte.weight', r.w(n_vocab, d_model)), (P + 'ln_f.weight', r.norm(d_model)),
         (P + 'ff_out.weight', r.w(n_vocab, d_model))]
    for i in range(n_layers):
        b = P + 'blocks.%d.' % i
        t += [(b + 'attn_norm.weight', r.norm(d_model)), (b + 'q_proj.weight', r.w(d_model, d_model)),
              (b + 'k_proj.weight', r.w(n_kv_heads * hd, d_model)), (b + 'v_proj.weight', r.w(n_kv_heads * hd, d_model)),
              (b + 'attn_out.weight', r.w(d_model, d_model)), (b + 'ff_norm.weight', r.norm(d_model)),
              (b + 'ff_proj.weight', r.w(ff, d_model)), (b + 'up_proj.weight', r.w(ff, d_model)),
              (b + 'ff_out.weight', r.w(d_model, ff))]
    write_sharded(d, t, 'BF16', n_shards)
    return d


def write_llada_wide(d, n_layers, d_model=256, ff=688, n_vocab=4096):
    """A bigger LLaDA (for the memory test): same files, more and larger tensors."""
    return write_llada(d, d_model=d_model, n_heads=8, n_kv_heads=8, n_layers=n_layers, ff=ff, n_vocab=n_vocab,
                       seed=7, n_shards=4)


# ---------------------------------------------------------------- Dream-v0-Instruct-7B layout

DREAM_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                  "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
                  "{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
                  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def dream_specials(n_normal):
    names = ['<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|beginoftext|>', '<|mask|>']
    return [(n_normal + i, t) for i, t in enumerate(names)]


def write_dream(d, d_model=64, n_heads=4, n_kv_heads=2, n_layers=2, ff=172, n_vocab=384, seed=2):
    """Dream-v0-Instruct-7B: DreamModel, Qwen2 names with q/k/v biases, bf16 shards, a slow tokenizer."""
    os.makedirs(d, exist_ok=True)
    tokens, merges = byte_bpe()
    spec = dream_specials(len(tokens))
    eos = spec[0][0]
    _dump(os.path.join(d, 'config.json'), {
        'architectures': ['DreamModel'], 'attention_dropout': 0.0,
        'auto_map': {'AutoConfig': 'configuration_dream.DreamConfig', 'AutoModel': 'modeling_dream.DreamModel'},
        'bos_token_id': eos, 'eos_token_id': eos, 'hidden_act': 'silu', 'hidden_size': d_model,
        'initializer_range': 0.02, 'intermediate_size': ff, 'mask_token_id': spec[-1][0],
        'max_position_embeddings': 131072, 'max_window_layers': n_layers, 'model_type': 'Dream',
        'num_attention_heads': n_heads, 'num_hidden_layers': n_layers, 'num_key_value_heads': n_kv_heads,
        'pad_token_id': eos, 'rms_norm_eps': 1e-06, 'rope_scaling': None, 'rope_theta': 1000000.0,
        'sliding_window': None, 'tie_word_embeddings': False, 'torch_dtype': 'bfloat16', 'use_cache': True,
        'use_sliding_window': False, 'vocab_size': n_vocab})
    _dump(os.path.join(d, 'vocab.json'), {t: i for i, t in enumerate(tokens)})
    with open(os.path.join(d, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n' + ''.join('%s %s\n' % m for m in merges))
    _dump(os.path.join(d, 'tokenizer_config.json'), {
        'add_prefix_space': False, 'added_tokens_decoder': _added(spec),
        'additional_special_tokens': ['<|im_start|>', '<|im_end|>'],
        'auto_map': {'AutoTokenizer': ['tokenization_dream.DreamTokenizer', None]}, 'bos_token': None,
        'chat_template': DREAM_TEMPLATE, 'clean_up_tokenization_spaces': False, 'eos_token': '<|endoftext|>',
        'errors': 'replace', 'mask_token': '<|mask|>', 'model_max_length': 131072, 'pad_token': '<|endoftext|>',
        'split_special_tokens': False, 'tokenizer_class': 'DreamTokenizer', 'unk_token': None})
    r = Rand(seed)
    hd = d_model // n_heads
    t = [('model.embed_tokens.weight', r.w(n_vocab, d_model)), ('model.norm.weight', r.norm(d_model)),
         ('lm_head.weight', r.w(n_vocab, d_model))]
    for i in range(n_layers):
        b = 'model.layers.%d.' % i
        s = b + 'self_attn.'
        t += [(b + 'input_layernorm.weight', r.norm(d_model)), (s + 'q_proj.weight', r.w(d_model, d_model)),
              (s + 'q_proj.bias', r.w(d_model)), (s + 'k_proj.weight', r.w(n_kv_heads * hd, d_model)),
              (s + 'k_proj.bias', r.w(n_kv_heads * hd)), (s + 'v_proj.weight', r.w(n_kv_heads * hd, d_model)),
              (s + 'v_proj.bias', r.w(n_kv_heads * hd)), (s + 'o_proj.weight', r.w(d_model, d_model)),
              (b + 'post_attention_layernorm.weight', r.norm(d_model)), (b + 'mlp.gate_proj.weight', r.w(ff, d_model)),
              (b + 'mlp.up_proj.weight', r.w(ff, d_model)), (b + 'mlp.down_proj.weight', r.w(d_model, ff))]
    write_sharded(d, t, 'BF16', 2)
    return d


# ---------------------------------------------------------------- MDLM (kuleshov-group/mdlm-owt) layout

def write_gpt2_tokenizer(d):
    """What `--tokenizer` points MDLM at: a slow GPT-2 tokenizer (vocab.json, merges.txt)."""
    os.makedirs(d, exist_ok=True)
    tokens, merges = byte_bpe()
    tokens = tokens + ['<|endoftext|>']
    _dump(os.path.join(d, 'vocab.json'), {t: i for i, t in enumerate(tokens)})
    with open(os.path.join(d, 'merges.txt'), 'w', encoding='utf-8') as f:
        f.write('#version: 0.2\n' + ''.join('%s %s\n' % m for m in merges))
    _dump(os.path.join(d, 'tokenizer_config.json'), {
        'add_prefix_space': False, 'added_tokens_decoder': _added([(len(tokens) - 1, '<|endoftext|>')]),
        'bos_token': '<|endoftext|>', 'eos_token': '<|endoftext|>', 'model_max_length': 1024,
        'tokenizer_class': 'GPT2Tokenizer', 'unk_token': '<|endoftext|>'})
    return d


def dit_tensors(r, n_vocab, d_model, n_blocks, cond):
    """The `backbone.` DiT tensors MDLM and BD3-LM share (models/dit.py, models/hf/modeling_bd3lm.py)."""
    b = 'backbone.'
    Q = 256  # DiT's TimestepEmbedder frequency_embedding_size
    t = [(b + 'vocab_embed.embedding', r.w(n_vocab, d_model)), (b + 'sigma_map.mlp.0.weight', r.w(cond, Q, s=0.1)),
         (b + 'sigma_map.mlp.0.bias', r.w(cond)), (b + 'sigma_map.mlp.2.weight', r.w(cond, cond, s=0.3)),
         (b + 'sigma_map.mlp.2.bias', r.w(cond))]
    for i in range(n_blocks):
        p = b + 'blocks.%d.' % i
        t += [(p + 'norm1.weight', r.norm(d_model)), (p + 'attn_qkv.weight', r.w(3 * d_model, d_model)),
              (p + 'attn_out.weight', r.w(d_model, d_model)), (p + 'norm2.weight', r.norm(d_model)),
              (p + 'mlp.0.weight', r.w(4 * d_model, d_model)), (p + 'mlp.0.bias', r.w(4 * d_model)),
              (p + 'mlp.2.weight', r.w(d_model, 4 * d_model)), (p + 'mlp.2.bias', r.w(d_model)),
              (p + 'adaLN_modulation.weight', r.w(6 * d_model, cond, s=0.3)), (p + 'adaLN_modulation.bias',
                                                                               r.w(6 * d_model))]
    o = b + 'output_layer.'
    t += [(o + 'norm_final.weight', r.norm(d_model)), (o + 'linear.weight', r.w(n_vocab, d_model)),
          (o + 'linear.bias', r.w(n_vocab)), (o + 'adaLN_modulation.weight', r.w(2 * d_model, cond, s=0.3)),
          (o + 'adaLN_modulation.bias', r.w(2 * d_model))]
    return t


def write_mdlm(d, d_model=64, n_heads=4, n_blocks=2, cond=32, seed=3):
    """MDLM: one model.safetensors (F32), `backbone.` DiT names, no tokenizer files; the
    vocabulary is GPT-2's plus the mask row MDLM appends."""
    os.makedirs(d, exist_ok=True)
    n_vocab = len(byte_bpe()[0]) + 2  # GPT-2 tokens + <|endoftext|> + the mask row
    _dump(os.path.join(d, 'config.json'), {
        'architectures': ['MDLM'], 'auto_map': {'AutoConfig': 'config.MDLMConfig', 'AutoModelForMaskedLM':
                                                'modeling_mdlm.MDLM'},
        'backbone': 'dit', 'cond_dim': cond, 'dropout': 0.1, 'hidden_dim': d_model, 'model_length': 1024,
        'model_type': 'mdlm', 'n_blocks': n_blocks, 'n_heads': n_heads, 'return_dict': False,
        'time_conditioning': False, 'var_min': True, 'vocab_size': n_vocab})
    t = dit_tensors(Rand(seed), n_vocab, d_model, n_blocks, cond)
    t.sort(key=lambda x: x[0])
    write_safetensors(os.path.join(d, 'model.safetensors'), t, 'F32')
    return d


# ---------------------------------------------------------------- BD3-LM (kuleshov-group/bd3lm-owt-block_size4) layout

def write_bd3lm(d, d_model=64, n_heads=4, n_blocks=2, cond=32, block_size=4, seed=6):
    """BD3-LM (models/hf/configuration_bd3lm.py, modeling_bd3lm.py): MDLM's `backbone.` DiT
    names plus the model's persistent buffers (backbone.rotary_emb.inv_freq, the 0-d
    sampling_eps_min / sampling_eps_max of var_min), BD3LMConfig's keys with block_size;
    no tokenizer files (GPT-2's, the mask row appended, as MDLM)."""
    os.makedirs(d, exist_ok=True)
    n_vocab = len(byte_bpe()[0]) + 2  # GPT-2 tokens + <|endoftext|> + the mask row
    _dump(os.path.join(d, 'config.json'), {
        'adaln': True, 'architectures': ['BD3LM'], 'attn_backend': 'flex',
        'auto_map': {'AutoConfig': 'configuration_bd3lm.BD3LMConfig',
                     'AutoModelForMaskedLM': 'modeling_bd3lm.BD3LM'},
        'block_size': block_size, 'causal': False, 'cond_dim': cond, 'cross_attn': True, 'dropout': 0.1,
        'hidden_dim': d_model, 'model_length': 1024, 'model_type': 'bd3lm', 'n_blocks': n_blocks,
        'n_heads': n_heads, 'return_dict': False, 'sampling_eps_max': 1.0, 'sampling_eps_min': 0.001,
        'time_conditioning': False, 'torch_dtype': 'float32', 'var_min': True, 'vocab_size': n_vocab})
    t = dit_tensors(Rand(seed), n_vocab, d_model, n_blocks, cond)
    hd = d_model // n_heads
    t += [('backbone.rotary_emb.inv_freq', (1.0 / 10000 ** (np.arange(0, hd, 2) / hd)).astype(np.float32)),
          ('sampling_eps_max', np.array(1.0, np.float32)), ('sampling_eps_min', np.array(0.001, np.float32))]
    t.sort(key=lambda x: x[0])
    write_safetensors(os.path.join(d, 'model.safetensors'), t, 'F32')
    return d


# ---------------------------------------------------------------- BertForMaskedLM layout

def write_bert(d, d_model=64, n_heads=4, n_layers=2, ff=128, seed=4):
    """bert-base-uncased style: model.safetensors with the old LayerNorm.gamma/beta names,
    the position_ids buffer and the pooler, the decoder tied (absent); vocab.txt."""
    os.makedirs(d, exist_ok=True)
    words = ['[PAD]'] + ['[unused%d]' % i for i in range(4)] + ['[UNK]', '[CLS]', '[SEP]', '[MASK]']
    words += list('!"#$%&\'()*+,-./0123456789:;<=>?@[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~')
    words += ['the', 'cat', 'sat', 'on', 'mat', 'dog', 'is'] + ['##' + c for c in 'abcdefghijklmnopqrstuvwxyz']
    with open(os.path.join(d, 'vocab.txt'), 'w', encoding='utf-8') as f:
        f.write(''.join(w + '\n' for w in words))
    n_vocab = len(words)
    _dump(os.path.join(d, 'tokenizer_config.json'), {'do_lower_case': True, 'model_max_length': 512})
    _dump(os.path.join(d, 'config.json'), {
        'architectures': ['BertForMaskedLM'], 'attention_probs_dropout_prob': 0.1, 'gradient_checkpointing': False,
        'hidden_act': 'gelu', 'hidden_dropout_prob': 0.1, 'hidden_size': d_model, 'initializer_range': 0.02,
        'intermediate_size': ff, 'layer_norm_eps': 1e-12, 'max_position_embeddings': 64, 'model_type': 'bert',
        'num_attention_heads': n_heads, 'num_hidden_layers': n_layers, 'pad_token_id': 0,
        'position_embedding_type': 'absolute', 'type_vocab_size': 2, 'use_cache': True, 'vocab_size': n_vocab})
    r = Rand(seed)
    e = 'bert.embeddings.'
    t = [(e + 'word_embeddings.weight', r.w(n_vocab, d_model)), (e + 'position_embeddings.weight', r.w(64, d_model)),
         (e + 'token_type_embeddings.weight', r.w(2, d_model)), (e + 'LayerNorm.gamma', r.norm(d_model)),
         (e + 'LayerNorm.beta', r.w(d_model)), (e + 'position_ids', np.arange(64, dtype=np.int64)[None, :])]
    for i in range(n_layers):
        p = 'bert.encoder.layer.%d.' % i
        for n, rows, cols in (('attention.self.query', d_model, d_model), ('attention.self.key', d_model, d_model),
                              ('attention.self.value', d_model, d_model), ('attention.output.dense', d_model, d_model),
                              ('intermediate.dense', ff, d_model), ('output.dense', d_model, ff)):
            t += [(p + n + '.weight', r.w(rows, cols)), (p + n + '.bias', r.w(rows))]
        for n in ('attention.output.LayerNorm', 'output.LayerNorm'):
            t += [(p + n + '.gamma', r.norm(d_model)), (p + n + '.beta', r.w(d_model))]
    c = 'cls.predictions.'
    t += [('bert.pooler.dense.weight', r.w(d_model, d_model)), ('bert.pooler.dense.bias', r.w(d_model)),
          (c + 'transform.dense.weight', r.w(d_model, d_model)), (c + 'transform.dense.bias', r.w(d_model)),
          (c + 'transform.LayerNorm.gamma', r.norm(d_model)), (c + 'transform.LayerNorm.beta', r.w(d_model)),
          (c + 'bias', r.w(n_vocab))]
    t.sort(key=lambda x: x[0])
    write_safetensors(os.path.join(d, 'model.safetensors'), t, 'F32')
    return d


CASES = {
    'llada-instruct': write_llada,
    'llada-gqa': lambda d: write_llada(d, n_kv_heads=2, seed=5, n_shards=2),
    'dream-instruct': write_dream,
    'mdlm-owt': write_mdlm,
    'bd3lm-owt': write_bd3lm,
    'bert-mlm': write_bert,
}


def write(case, d):
    CASES[case](d)
    if case in ('mdlm-owt', 'bd3lm-owt'):
        write_gpt2_tokenizer(os.path.join(d, 'gpt2-tokenizer'))
    return d


# the seed offset of each case's ids (the first five: their order when they were all the cases)
TOKEN_SEEDS = {'bert-mlm': 0, 'dream-instruct': 1, 'llada-gqa': 2, 'llada-instruct': 3, 'mdlm-owt': 4, 'bd3lm-owt': 5}


def tokens(case, n_vocab):
    """The ids the goldens feed the network: N_TOKENS ids below the first special token."""
    rs = np.random.RandomState(100 + TOKEN_SEEDS[case])
    return rs.randint(0, min(n_vocab, 300), N_TOKENS).tolist()


def digest(d):
    """sha256 of every weight file of a case directory, by name."""
    out = {}
    for name in sorted(os.listdir(d)):
        if name.endswith('.safetensors'):
            with open(os.path.join(d, name), 'rb') as f:
                out[name] = hashlib.sha256(f.read()).hexdigest()
    return out
