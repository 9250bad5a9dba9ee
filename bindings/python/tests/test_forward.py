"""test_forward.py -- Model.forward / Denoiser.forward return numpy float32 [rows, n_vocab]
equal to `textdiff forward ... -o x.npy` on the same tokens, and errors carry the
denoiser's message."""
import numpy as np
import pytest

import textdiff
from textdiff import Status, TextdiffError

TOKENS = [2046, 116, 468, 258, 301, 274, 301, 2047, 2047, 110, 275, 468, 268, 301, 2047, 5, 17, 1509, 130]


def test_forward_equals_the_tool(model, model_path, tool, tmp_path):
    out = tmp_path / 'x.npy'
    tool('forward', model_path, '--tokens', ','.join(map(str, TOKENS)), '-o', out)
    want = np.load(out)
    got = model.forward(TOKENS)
    assert got.dtype == np.float32 and got.shape == (len(TOKENS), 2048) and got.flags['C_CONTIGUOUS']
    # same library, same inputs, one thread: bit-identical (tolerance 0)
    assert np.array_equal(got, want)


def test_forward_positions_equal_the_tool(model, model_path, tool, tmp_path):
    pos = [3, 0, 7, 7, 18]
    out = tmp_path / 'p.npy'
    tool('forward', model_path, '--tokens', ','.join(map(str, TOKENS)), '--positions', ','.join(map(str, pos)), '-o',
         out)
    got = model.forward(TOKENS, positions=pos)
    assert got.shape == (5, 2048)
    assert np.array_equal(got, np.load(out))
    # the rows are the full pass's rows (the head may batch rows differently: 1e-5 absolute)
    full = model.forward(TOKENS)
    assert np.allclose(got, full[pos], rtol=0, atol=1e-5)


def test_forward_is_independent_of_threads(model):
    with model.denoiser(len(TOKENS), n_threads=2) as d:
        assert d.max_len == len(TOKENS) and d.n_vocab == 2048 and not d.time_conditioned
        assert np.array_equal(d.forward(TOKENS), model.forward(TOKENS))  # the header promises bit-identity


def test_denoiser_parameters(model):
    with model.denoiser(8) as d:
        assert d.get('attention') == textdiff.Attention.FULL
        d.set('attention', 'causal')
        assert d.get(textdiff.DenoiserParam.ATTENTION) == textdiff.Attention.CAUSAL
        causal = d.forward(TOKENS[:8])
        d.set('attention', 'full')
        assert not np.array_equal(causal, d.forward(TOKENS[:8]))
        with pytest.raises(TextdiffError) as e:
            d.set('n_vocab', 5)  # read-only
        assert e.value.status == Status.INVALID_ARGUMENT


def test_forward_errors_carry_the_denoiser_message(model):
    with model.denoiser(4) as d:
        with pytest.raises(TextdiffError) as e:
            d.forward([1, 2, 2048])  # id out of range
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message
        assert e.value.function == 'tdiff_denoiser_forward'
        with pytest.raises(TextdiffError) as e:
            d.forward([1, 2, 3, 4, 5])  # longer than max_len
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message
        with pytest.raises(TextdiffError) as e:
            d.forward([1, 2], positions=[2])
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message
    with pytest.raises(TextdiffError) as e:
        model.denoiser(0)
    assert e.value.status == Status.INVALID_ARGUMENT


def test_forward_on_a_gguf_py_model_equals_the_tool(small_llada, tool, tmp_path):
    ids = [298, 5, 17, 299, 299, 100, 42]
    out = tmp_path / 's.npy'
    tool('forward', small_llada, '--tokens', ','.join(map(str, ids)), '-o', out)
    with textdiff.Model(small_llada) as m:
        got = m.forward(ids)
    assert got.shape == (7, 300) and np.array_equal(got, np.load(out))


def test_failed_creation_reports_the_message_the_library_logged(model):
    with pytest.raises(TextdiffError) as e:
        model.denoiser(5000)  # longer than the context (4096)
    assert e.value.status == Status.INVALID_ARGUMENT and e.value.function == 'tdiff_denoiser_create'
    assert e.value.message and 'max_len=' not in e.value.message  # the library's words, not ours


def test_a_model_and_its_tokenizer_serve_several_threads(model):
    import threading
    texts = ['the cat sat %d' % i for i in range(8)]
    want = [(model.tokenize(t), model.forward(model.tokenize(t))) for t in texts]
    got = [None] * len(texts)

    def work(i):
        ids = model.tokenize(texts[i])  # one shared tokenizer, one denoiser per call
        got[i] = (ids, model.forward(ids))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for (wi, wl), (gi, gl) in zip(want, got):
        assert wi == gi and np.array_equal(wl, gl)


def test_forward_batch_equals_each_sequence_alone(model):
    """Experimental packed batch: each sequence's rows are bit-identical to its own forward."""
    seqs = [TOKENS, TOKENS[:5], [7], TOKENS[3:] + TOKENS[:4]]
    pos = [None, [4, 0, 4], None, [1, 19, 2]]
    with model.denoiser(len(TOKENS) + 4, n_threads=2) as d:
        with pytest.raises(TextdiffError) as e:
            d.forward_batch(seqs, positions=pos)
        assert e.value.status == Status.INVALID_ARGUMENT and 'reserve' in str(e.value)
        d.reserve_batch(sum(len(s) for s in seqs))
        got = d.forward_batch(seqs, positions=pos)
        assert len(got) == 4
        for s, p, g in zip(seqs, pos, got):
            assert np.array_equal(g, d.forward(s, positions=p))
