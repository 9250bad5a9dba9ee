"""test_model.py -- Model: loading from a file and from bytes, hyper-parameters and
metadata as the fixtures' README and an independent reader (tools/gguf.py) state them,
lifetime rules, and load errors raised with the library's message."""
import math
import pathlib
import re

import numpy as np
import pytest

import textdiff
from textdiff import Status, TextdiffError

# The fixtures' README (tests/fixtures/README.md), written by llama.cpp's gguf-py.
EXPECTED = {
    'llada': dict(n_vocab=2048, n_ctx=4096, n_embd=64, n_layer=2, n_ff=172, n_head=4, n_head_kv=4, head_dim=16,
                  rope_dim=16, shift_logits=0, rope_style=1, has_qkv_bias=0, tied_output=0, causal=0,
                  gguf_version=3, n_tensors=21, n_meta=26, alignment=32, file_size=1496480),
    'dream': dict(n_vocab=2048, n_ctx=4096, n_embd=64, n_layer=2, n_ff=172, n_head=4, n_head_kv=2, head_dim=16,
                  rope_dim=16, shift_logits=1, rope_style=2, has_qkv_bias=1, tied_output=0, causal=0,
                  gguf_version=3, n_tensors=27, n_meta=25, alignment=32, file_size=1464992),
}
FLOATS = {'llada': dict(rope_base=500000.0, norm_eps=1e-5), 'dream': dict(rope_base=1e6, norm_eps=1e-6)}


def test_hyper_parameters_are_the_fixture_readme_values(model):
    arch = model.architecture
    hp = model.hparams
    for k, v in EXPECTED[arch].items():
        assert hp[k] == v, k
    for k, v in FLOATS[arch].items():
        assert hp[k] == pytest.approx(v, rel=1e-6), k  # stored as f32 in the file
    assert model.n_vocab == 2048 and model.get('n_embd') == 64 and model.get(textdiff.ModelParam.N_LAYER) == 2
    # parameter count from the tensor table of the README: 21/27 tensors of known shapes
    n = sum(int(np.prod(t['shape'])) for t in model.tensors())
    assert model.weight_count == n
    with pytest.deprecated_call():  # the 0.1 name, kept one release
        assert model.param_count == n


def test_special_tokens(model):
    assert model.bos_id == 2046 and model.eos_id == 2046 and model.mask_id == 2047
    assert model.special_id('pad') is None and model.special_id(textdiff.Special.UNK) is None
    with pytest.raises(ValueError):
        model.special_id('nonsense')
    with pytest.deprecated_call():  # the 0.1 name, kept one release
        assert model.special_token('mask') == 2047


def test_metadata_equals_an_independent_reader(model_path, gguf):
    ref = gguf.read(model_path)
    with textdiff.Model(model_path) as m:
        assert m.meta_keys() == list(ref.kv)
        md = m.metadata
        for key, (vtype, value, _) in ref.kv.items():
            got = md[key]
            if vtype == gguf.F32:
                assert got == pytest.approx(value, rel=1e-7), key
            elif vtype == gguf.ARRAY:
                assert list(got) == list(value), key
            else:
                assert got == value, key
        t, et, n = m.meta_type('tokenizer.ggml.tokens')
        assert (t, et, n) == (textdiff.MetaType.ARRAY, textdiff.MetaType.STRING, 2048)


def test_tensor_table_equals_an_independent_reader(model_path, gguf):
    ref = gguf.read(model_path)
    with textdiff.Model(model_path) as m:
        got = m.tensors()
    assert [t['name'] for t in got] == [t['name'] for t in ref.tensors]
    assert [t['type'] for t in got] == [t['type'] for t in ref.tensors]
    assert [t['shape'] for t in got] == [tuple(t['ne']) for t in ref.tensors]


def test_missing_metadata_raises_not_found_or_gives_the_default(model):
    with pytest.raises(TextdiffError) as e:
        model.meta('no.such.key')
    assert e.value.status == Status.NOT_FOUND and 'no.such.key' in str(e.value)
    assert model.meta('no.such.key', default=7) == 7


def test_loading_from_bytes_equals_loading_the_file(model_path):
    data = pathlib.Path(model_path).read_bytes()
    odd = memoryview(b'x' + data)[1:]  # a view at an odd address: the binding realigns its copy
    with textdiff.Model(model_path) as a, textdiff.Model.from_bytes(odd) as b:
        assert a.hparams == b.hparams and a.metadata == b.metadata
        ids = [2046, 116, 468, 258, 301]
        assert np.array_equal(a.forward(ids), b.forward(ids))  # same bytes, same code: bit-identical


def test_model_written_by_tools_gguf_loads(small_llada):
    with textdiff.Model(small_llada) as m:
        assert m.architecture == 'llada' and m.n_vocab == 300
        assert m.get('tied_output') == 1 and m.get('n_layer') == 1
        assert m.mask_id == 299


def test_missing_file_raises_io_error_with_the_library_message(tmp_path):
    with pytest.raises(TextdiffError) as e:
        textdiff.Model(tmp_path / 'absent.gguf')
    assert e.value.status == Status.IO and e.value.status_name == 'IO'
    assert 'absent.gguf' in e.value.message  # the library's own text, from the err buffer
    assert e.value.function == 'tdiff_model_load_file'


def test_malformed_bytes_raise_bad_format_with_the_library_message(model_path):
    data = pathlib.Path(model_path).read_bytes()
    with pytest.raises(TextdiffError) as e:
        textdiff.Model.from_bytes(b'GGUF' + b'\xff' * 60)
    assert e.value.status in (Status.BAD_FORMAT, Status.UNSUPPORTED) and e.value.message
    with pytest.raises(TextdiffError) as e:
        textdiff.Model.from_bytes(data[:len(data) // 2])  # tensors run past the end
    assert e.value.status == Status.BAD_FORMAT and e.value.message
    with pytest.raises(TextdiffError) as e:
        textdiff.Model.from_bytes(b'')
    assert e.value.status != Status.OK


def test_context_manager_and_close_release_the_model(model_path):
    with textdiff.Model(model_path) as m:
        assert not m.closed
    assert m.closed
    with pytest.raises(ValueError):
        m.n_vocab
    m.close()  # idempotent, like tdiff_model_free(NULL)


def test_closing_a_model_first_closes_the_handles_built_on_it(model_path):
    m = textdiff.Model(model_path)
    s = m.sampler(steps=4, gen_length=4)
    d = m.denoiser(8)
    m.close()
    with pytest.raises(ValueError):
        s.generate([2046, 116])
    with pytest.raises(ValueError):
        d.forward([2046])


def test_handles_keep_their_model_alive(model_path):
    import gc
    s = textdiff.Model(model_path).sampler(steps=4, gen_length=4, block_length=4)
    gc.collect()  # the Model object is unreachable except through the sampler
    out = s.generate([2046, 116, 468])
    assert len(out) <= 4 and all(0 <= t < 2048 for t in out)
    assert not math.isnan(s.stats['total_seconds'])


def test_a_file_without_network_or_mask_fails_where_it_is_used(tmp_path, gguf):
    w = gguf.Writer()
    w.add('general.architecture', 'toy')
    tokens, types, merges = gguf.byte_tokenizer(260)
    w.add('tokenizer.ggml.model', 'gpt2')
    w.add('tokenizer.ggml.pre', 'default')
    w.add_array('tokenizer.ggml.tokens', tokens, gguf.STRING)
    w.add_array('tokenizer.ggml.token_type', types, gguf.I32)
    w.add_array('tokenizer.ggml.merges', merges, gguf.STRING)
    w.add_tensor('toy.weight', np.ones((2, 3), np.float32))
    path = tmp_path / 'toy.gguf'
    w.write(str(path))
    with textdiff.Model(path) as m:
        assert m.architecture == 'toy' and m.hparams == {'n_vocab': 260, 'gguf_version': 3, 'n_tensors': 1,
                                                         'n_meta': 6, 'alignment': 32,
                                                         'file_size': path.stat().st_size}
        assert m.tensors() == [{'name': 'toy.weight', 'type': 0, 'shape': (3, 2)}]
        assert m.mask_id is None
        assert m.detokenize(m.tokenize('abc', add_special=False)) == 'abc'  # the tokenizer works alone
        with pytest.raises(TextdiffError) as e:
            m.sampler()
        assert e.value.status == Status.BAD_FORMAT and e.value.function == 'tdiff_sampler_create'
        with pytest.raises(TextdiffError) as e:
            m.forward([1, 2])
        assert e.value.status in (Status.UNSUPPORTED, Status.BAD_FORMAT)
        with pytest.raises(TextdiffError) as e:
            m.score([1, 2, 3])
        assert e.value.status == Status.BAD_FORMAT and 'mask' in e.value.message
        with pytest.raises(TextdiffError) as e:  # the library's type check surfaces as is
            m._scalar('general.architecture', textdiff.MetaType.U32)
        assert e.value.status == Status.TYPE_MISMATCH and e.value.message == 'general.architecture'


TYPE_NAMES = {'u8': 'U8', 'i8': 'I8', 'u16': 'U16', 'i16': 'I16', 'u32': 'U32', 'i32': 'I32', 'f32': 'F32',
              'bool': 'BOOL', 'str': 'STRING', 'u64': 'U64', 'i64': 'I64', 'f64': 'F64'}


def test_info_equals_the_tool(model, model_path, tool):
    out = tool('info', model_path, '--meta', '--tensors').stdout.decode()
    # "label<two or more spaces>value" lines, then the --meta and --tensors listings
    summary = dict(re.split(r'\s{2,}', line.strip(), maxsplit=1) for line in out.split('\n\n')[0].splitlines())
    hp = model.hparams
    assert summary['architecture'] == model.architecture
    assert summary['parameters'].split()[0] == str(model.weight_count)
    for label, key in (('context length', 'n_ctx'), ('hidden size', 'n_embd'), ('layers', 'n_layer'),
                       ('feed-forward', 'n_ff'), ('heads', 'n_head'), ('kv heads', 'n_head_kv'),
                       ('vocabulary', 'n_vocab')):
        assert summary[label] == str(hp[key]), label
    meta_lines = [ln.split() for ln in out.split('metadata (')[1].split('\n\n')[0].splitlines()[1:]]
    assert [m[0] for m in meta_lines] == model.meta_keys()
    for key, tname, *rest in meta_lines:
        t, et, n = model.meta_type(key)
        if tname.startswith('arr['):
            inner, count = tname[4:-1].split(',')
            assert (t.name, et.name, n) == ('ARRAY', TYPE_NAMES[inner], int(count)), key
        else:
            assert t.name == TYPE_NAMES[tname], key
            if tname in ('u32', 'i32', 'u64', 'i64'):
                assert rest[1] == str(model.meta(key)), key
    tensor_lines = [ln.split(None, 2) for ln in out.split('tensors (')[1].strip().splitlines()[1:]]
    names = {0: 'F32', 1: 'F16', 2: 'Q4_0', 8: 'Q8_0', 30: 'BF16'}
    assert [(n, ty, tuple(int(d) for d in dims.split(' x '))) for n, ty, dims in tensor_lines] == \
        [(t['name'], names[t['type']], t['shape']) for t in model.tensors()]


@pytest.fixture(scope='module')
def llada_256(tmp_path_factory, gguf):
    """A llada model whose rows K-quants can block (n_embd 256): 8 layers, separate head."""
    path = tmp_path_factory.mktemp('models') / 'llada-256.gguf'
    gguf.write_llada(str(path), n_vocab=300, n_embd=256, n_layer=8, n_ff=512, n_head=4, n_ctx=128, seed=9,
                     std=0.05)
    return str(path)


def test_quantize_writes_what_an_independent_reader_decodes(llada_256, gguf, tmp_path):
    src = gguf.read(llada_256)
    seen = []
    with textdiff.Model(llada_256) as m:
        m.quantize(str(tmp_path / 'q.gguf'), 'q4_k_m', n_threads=2, progress=seen.append)
    assert [s['index'] for s in seen] == list(range(len(src.tensors)))
    out = gguf.read(str(tmp_path / 'q.gguf'))
    # metadata: the same entries in the same order; llama.cpp's file type (15 = Q4_K_M) and version 2 added
    assert list(out.kv)[:len(src.kv)] == list(src.kv)
    for k in src.kv:
        if k != 'general.file_type':
            assert out.kv[k] == src.kv[k], k
    assert out.kv['general.file_type'][1] == 15 and out.kv['general.quantization_version'][1] == 2
    # types: llama.cpp's Q4_K_M choices; values: numpy's decoders close to the originals
    more = {0, 3, 6, 7}  # use_more_bits over 8 layers
    for t, s in zip(out.tensors, src.tensors):
        name = t['name']
        assert name == s['name'] and t['ne'] == s['ne']
        if len(s['ne']) == 1:
            want = gguf.GGML_F32
        elif name == 'output.weight':
            want = gguf.GGML_Q6_K
        elif 'attn_v' in name or 'ffn_down' in name:
            want = gguf.GGML_Q6_K if int(name.split('.')[1]) in more else gguf.GGML_Q4_K
        else:
            want = gguf.GGML_Q4_K
        assert t['type'] == want, name
        x, y = gguf.dequantize(s), gguf.dequantize(t)
        rel = np.sqrt(((y - x) ** 2).mean() / (x ** 2).mean())
        assert rel <= {gguf.GGML_Q6_K: 0.03, gguf.GGML_Q4_K: 0.1, gguf.GGML_F32: 0.0}[want], (name, rel)


def test_quantize_stops_when_progress_says_so(llada_256, tmp_path):
    with textdiff.Model(llada_256) as m:
        with pytest.raises(TextdiffError) as e:
            m.quantize(str(tmp_path / 'q.gguf'), 'q8_0', progress=lambda t: t['index'] == 2)
        assert e.value.status == Status.ABORTED
        with pytest.raises(ValueError):
            m.quantize(str(tmp_path / 'q.gguf'), 'q3_k')
    assert not (tmp_path / 'q.gguf').exists() and not (tmp_path / 'q.gguf.part').exists()
