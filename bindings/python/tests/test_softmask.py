"""test_softmask.py -- SoftMask: the gate and mixtures follow the formulas of the header
(checked with numpy), build() agrees with mix_position(), and with s = 0 the mixtures
feed forward_mix exactly the plain mask input."""
import math

import numpy as np
import pytest

import textdiff
from textdiff import Status, TextdiffError, _ffi

pytestmark = pytest.mark.skipif(not _ffi.has('tdiff_softmask_create'),
                                reason='the library has no soft-mask API (tdiff_softmask_create)')

MASK = 2047


def reference_mixture(logits, mask_id, s, c, a, k):
    """The header's formulas in float64: (ids, weights, lambda)."""
    lg = logits.astype(np.float64)
    p = np.exp(lg - lg.max())
    p /= p.sum()
    nu = float(np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0)))
    lam = s / (1 + math.exp(-a * (nu - c)))
    top = sorted(range(len(lg)), key=lambda v: (-lg[v], v))[:k]
    pi = np.exp(lg[top] - lg[top].max())
    pi /= pi.sum()
    return [mask_id] + top, [1 - lam] + list(lam * pi), lam


def test_defaults_are_the_papers():
    with textdiff.SoftMask(2048) as sm:
        assert sm.get('top_k') == 3 and sm.get('from_model') == 0
        assert sm.get('s') == pytest.approx(0.25, abs=1e-4)  # raw values are rounded to 4 decimals
        assert sm.get('c') == pytest.approx(-1.0, abs=1e-4)
        assert sm.get('a') == pytest.approx(5.0, abs=1e-4)


def test_mix_position_follows_the_formulas(model):
    logits = model.forward([2046, 116, 468, MASK, MASK])[3]
    logits[MASK] = -np.inf  # a suppressed mask token is allowed
    with textdiff.SoftMask(2048) as sm:
        for k in (1, 3, 7):
            sm.set('top_k', k)
            mix, lam = sm.mix_position(logits, MASK)
            ids, w, ref_lam = reference_mixture(logits, MASK, sm.get('s'), sm.get('c'), sm.get('a'), k)
            assert [i for i, _ in mix] == ids
            assert np.allclose([x for _, x in mix], w, rtol=0, atol=1e-6)  # float32 arithmetic
            assert lam == pytest.approx(ref_lam, abs=1e-6) and 0 <= lam < sm.get('s')
            assert sum(x for _, x in mix) == pytest.approx(1.0, abs=1e-6)


def test_build_agrees_with_mix_position(model):
    tokens = [2046, 116, MASK, 468, MASK, MASK]
    logits = model.forward(tokens)
    with textdiff.SoftMask(2048) as sm:
        first, lam0 = sm.build(tokens, MASK)  # first step: no previous logits
        assert first == [[], [], [(MASK, 1.0)], [], [(MASK, 1.0)], [(MASK, 1.0)]] and not lam0.any()
        mixes, lam = sm.build(tokens, MASK, prev_logits=logits[[2, 4, 5]], prev_positions=[2, 4, 5])
        for i in (2, 4, 5):
            want, want_lam = sm.mix_position(logits[i], MASK)
            assert mixes[i] == want and lam[i] == pytest.approx(want_lam, abs=0)
        assert mixes[0] == mixes[1] == mixes[3] == [] and lam[0] == 0
        all_rows, _ = sm.build(tokens, MASK, prev_logits=logits)  # row r is position r
        assert all_rows == mixes


def test_zero_gate_feeds_exactly_the_mask(model):
    tokens = [2046, 116, MASK, 468, MASK]
    with textdiff.SoftMask(2048) as sm, model.denoiser(len(tokens)) as d:
        sm.set('raw_s', -math.inf)  # s = 0
        mixes, lam = sm.build(tokens, MASK, prev_logits=d.forward(tokens))
        assert not lam.any() and len(mixes[2]) == 4
        assert np.array_equal(d.forward_mix(mixes, tokens=tokens), d.forward(tokens))


def test_softmask_errors_carry_messages():
    with pytest.raises(TextdiffError) as e:
        textdiff.SoftMask(0)
    assert e.value.status == Status.INVALID_ARGUMENT and e.value.message  # the text the library logged
    with textdiff.SoftMask(10) as sm:
        with pytest.raises(TextdiffError) as e:
            sm.set('top_k', 0)
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message
        with pytest.raises(TextdiffError) as e:
            sm.set('s', 0.5)  # read-only
        assert e.value.status == Status.INVALID_ARGUMENT
        with pytest.raises(TextdiffError) as e:
            sm.mix_position(np.full(10, np.nan), 9)
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message


def test_sampler_soft_mask_equals_the_tool(tool):
    """Sampler.set_softmask and `textdiff generate --soft-mask K` give the same tokens on the
    bundled model; with s = 0 the tokens equal plain masking."""
    import json
    import os
    from conftest import REPO
    path = os.path.join(REPO, "models", "austen-llada.gguf")
    opts = ['--steps', '16', '-n', '16', '--block', '8', '--temperature', '0.7', '--seed', '2']
    params = dict(steps=16, gen_length=16, block_length=8, temperature=0.7, seed=2)
    want = json.loads(tool('generate', path, '--json', '-p', 'It is a truth', '--soft-mask', '3',
                           *opts).stdout.decode())
    with textdiff.Model(path) as m, textdiff.SoftMask(4096, model=m) as sm:
        sm.set('top_k', 3)
        with m.sampler(**params) as s:
            prompt = m.tokenize('It is a truth')
            plain = s.generate(prompt)
            s.set_softmask(sm)
            assert s.generate(prompt) == want['tokens']
            sm.set('raw_s', -math.inf)
            assert s.generate(prompt) == plain
            s.set_softmask(None)
