"""test_incremental.py -- the incremental API (begin / step / step_for / canvas / progress /
result / cancel) gives exactly generate()'s and infill()'s tokens, reports its state,
refuses calls in the wrong state, and keeps callbacks safe across steps; and the
vector-input forward calls (forward_embd, forward_mix) agree with token forward."""
import gc

import numpy as np
import pytest

from textdiff import GenState, Status, TextdiffError, _ffi

# Both APIs arrived late in the header: skip (with the reason) against a library without them.
needs_incremental = pytest.mark.skipif(not _ffi.has('tdiff_sampler_begin'),
                                       reason='the library has no incremental API (tdiff_sampler_begin)')
needs_vector_inputs = pytest.mark.skipif(not _ffi.has('tdiff_denoiser_forward_embd'),
                                         reason='the library has no tdiff_denoiser_forward_embd/_mix')

PROMPT = [2046, 116, 468, 258, 301, 274, 301, 270, 110, 275, 468, 268, 301]
MASK = 2047
PARAMS = dict(steps=8, gen_length=16, block_length=8, seed=3, temperature=0.7)


@needs_incremental
def test_stepping_gives_generate_tokens_and_reports_progress(model):
    want = model.sampler(**PARAMS).generate(PROMPT)
    s = model.sampler(**PARAMS)
    assert s.progress()[0] == GenState.IDLE
    s.begin(PROMPT)
    state, taken, _ = s.progress()
    assert (state, taken) == (GenState.RUNNING, 0)
    tokens, conf, masked = s.canvas()
    assert tokens.tolist() == PROMPT + [MASK] * 16 and np.isnan(conf).all()
    assert masked.tolist() == [False] * len(PROMPT) + [True] * 16
    n_masked = [16]
    done, steps = False, 0
    while not done:
        done = s.step()
        steps += 1
        gc.collect()
        tokens, conf, masked = s.canvas()
        assert np.array_equal(masked, tokens == MASK)  # the flags describe the tokens
        assert tokens[:len(PROMPT)].tolist() == PROMPT
        n_masked.append(int(masked.sum()))
        assert s.progress()[1] == steps
    assert steps == 8 and n_masked == sorted(n_masked, reverse=True) and n_masked[-1] == 0
    assert s.progress()[0] == GenState.DONE
    assert s.result() == want
    assert s.progress()[0] == GenState.IDLE


@needs_incremental
def test_step_for_and_begin_infill(model):
    s = model.sampler(**PARAMS)
    s.begin(PROMPT)
    taken, done = s.step_for(0)  # a zero budget still makes progress
    assert taken >= 1
    while not done:
        n, done = s.step_for(10_000_000)  # 10 s: enough for every remaining step
    assert s.result() == model.sampler(**PARAMS).generate(PROMPT)
    canvas = [2046, 116, MASK, MASK, MASK, 468, MASK, MASK, 301]
    s.set(steps=5, block_length=0)
    s.begin_infill(canvas)
    while not s.step():
        pass
    assert s.result() == model.sampler(**dict(PARAMS, steps=5, block_length=0)).infill(canvas)


@needs_incremental
def test_calls_in_the_wrong_state_raise_state(model):
    s = model.sampler(**PARAMS)
    for call in (s.step, lambda: s.step_for(10), s.canvas, s.result, s.cancel):
        with pytest.raises(TextdiffError) as e:
            call()
        assert e.value.status == Status.STATE, call
    s.begin(PROMPT)
    with pytest.raises(TextdiffError) as e:
        s.set(steps=4)  # parameters are frozen while a generation is begun
    assert e.value.status == Status.STATE and e.value.message
    with pytest.raises(TextdiffError) as e:
        s.generate(PROMPT)
    assert e.value.status == Status.STATE
    with pytest.raises(TextdiffError) as e:
        s.begin(PROMPT)
    assert e.value.status == Status.STATE
    s.step()
    with pytest.raises(TextdiffError) as e:
        s.result()  # not done yet
    assert e.value.status == Status.STATE
    s.cancel()
    assert s.progress()[0] == GenState.IDLE
    s.set(steps=4)  # idle again: parameters can change
    assert len(s.generate(PROMPT)) <= 16


@needs_incremental
def test_callback_exception_during_a_step_ends_the_generation(model):
    s = model.sampler(**PARAMS)
    calls = []

    def on_step(step, n, canvas, conf):
        calls.append(step)
        gc.collect()
        if step == 2:
            raise RuntimeError('stop here')

    s.set_callback(on_step)
    del on_step
    s.begin(PROMPT)
    s.step()
    s.step()
    with pytest.raises(RuntimeError, match='stop here') as e:
        s.step()
    assert isinstance(e.value.__cause__, TextdiffError) and e.value.__cause__.status == Status.ABORTED
    assert calls == [0, 1, 2] and s.progress()[0] == GenState.IDLE
    s.set_callback(None)
    assert s.generate(PROMPT) == model.sampler(**PARAMS).generate(PROMPT)


@needs_incremental
def test_freeing_a_sampler_mid_generation_is_safe(model):
    s = model.sampler(**PARAMS)
    s.begin(PROMPT)
    s.step()
    s.close()  # tdiff_sampler_free cancels the generation
    with pytest.raises(ValueError):
        s.step()


# ---------------------------------------------------------------- vector inputs

def embedding_table(model_path, gguf):
    """token_embd.weight as [n_vocab, n_embd] float32, read by tools/gguf.py."""
    return gguf.dequantize(gguf.read(model_path).tensor('token_embd.weight'))


@needs_vector_inputs
def test_forward_embd_with_embedding_rows_equals_token_forward(model, model_path, gguf):
    emb = embedding_table(model_path, gguf)
    ids = PROMPT[:6] + [MASK, MASK]
    with model.denoiser(len(ids)) as d:
        want = d.forward(ids)
        assert np.array_equal(d.forward_embd(emb[ids]), want)  # the header promises exactly
        rows = [True, False] * 4  # half the rows from embd, half looked up from tokens
        assert np.array_equal(d.forward_embd(emb[ids] * np.array(rows)[:, None], tokens=ids, embd_rows=rows), want)
        soft = emb[ids].copy()
        soft[6] = 0.5 * emb[MASK] + 0.5 * emb[116]
        got = d.forward_embd(soft, positions=[6, 0])
        assert got.shape == (2, 2048) and not np.array_equal(got[0], want[6])
        with pytest.raises(TextdiffError) as e:
            d.forward_embd(np.full((2, emb.shape[1]), np.nan, np.float32))
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message


@needs_vector_inputs
def test_forward_mix_equals_the_mixed_embedding(model, model_path, gguf):
    emb = embedding_table(model_path, gguf)
    ids = PROMPT[:5]
    with model.denoiser(len(ids)) as d:
        want = d.forward(ids)
        assert np.array_equal(d.forward_mix([[(i, 1.0)] for i in ids]), want)  # (x, 1) is exactly token x
        assert np.array_equal(d.forward_mix([[], [(ids[1], 1.0), (7, 0.0)], [], [], []], tokens=ids), want)
        mix = [[(ids[0], 1.0)], [(116, 0.25), (MASK, 0.75)], [], [], []]
        vec = emb[ids].copy()
        vec[1] = np.float32(0.25) * emb[116] + np.float32(0.75) * emb[MASK]  # float32, list order
        assert np.allclose(d.forward_mix(mix, tokens=ids), d.forward_embd(vec), rtol=0, atol=1e-6)
        with pytest.raises(TextdiffError) as e:
            d.forward_mix([[], []])  # empty lists need tokens
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message
