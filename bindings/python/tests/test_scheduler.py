"""test_scheduler.py -- score() equals `textdiff score --json`; Scheduler queries follow
the closed forms of the header; the NELBO with a Python network equals the NELBO with
the library's network; transfer schedules, noise (pure functions), objectives and
transitions through the binding; parameter names and bounds; deprecated spellings."""
import json
import math

import numpy as np
import pytest

import textdiff
from textdiff import Status, TextdiffError

TEXT = 'the cat sat on the mat and the dog ate the hat, then 42 birds flew over the hill.'


@pytest.mark.parametrize('method,samples', [('quadrature', 32), ('antithetic', 8), ('stratified', 6)])
def test_score_equals_the_tool(model, model_path, tool, tmp_path, method, samples):
    f = tmp_path / 'text.txt'
    f.write_text(TEXT)
    want = json.loads(tool('score', model_path, f, '--json', '--method', method, '--samples', samples, '--seed',
                           '3').stdout)
    got = model.score(TEXT, method=method, n_samples=samples, seed=3)
    assert got.n_tokens == want['tokens']
    # the tool prints 6 decimals: agreement to that rounding (5e-7 plus float formatting)
    assert got.nelbo == pytest.approx(want['nelbo_nats_total'], abs=1e-6)
    assert got.per_token == pytest.approx(want['nelbo_nats_per_token'], abs=1e-6)
    assert got.perplexity_bound == pytest.approx(want['perplexity_bound'], rel=1e-5)
    assert got.std_error == pytest.approx(want['std_error_total'], abs=1e-6)


def test_scheduler_closed_forms():
    with textdiff.Scheduler('linear') as s:
        assert s.kind == textdiff.ScheduleKind.LINEAR
        for t in (0.0, 0.1, 0.5, 0.9):
            assert s.alpha_bar(t) == pytest.approx(1 - t, abs=1e-15)
            assert s.sigma_bar(t) == pytest.approx(-math.log(1 - t), abs=1e-12)
        assert s.eval('elbo_weight', 0.25) == pytest.approx(4.0, rel=1e-12)  # exactly 1/t for LINEAR
        for step in range(1, 6):  # beta_t = 1/(T - t + 1)
            assert s.eval_step('beta', step, 5) == pytest.approx(1 / (5 - step + 1), rel=1e-12)
    with textdiff.Scheduler() as s:  # log-linear, eps 1e-3
        assert s.get('eps') == 1e-3
        assert s.alpha_bar(0.5) == pytest.approx(1 - (1 - 1e-3) * 0.5, abs=1e-15)
        s.set('eps', 0.1)
        assert s.alpha_bar(1.0) == pytest.approx(0.1, abs=1e-15)
    assert textdiff.Scheduler.bounds('spindle_lambda') == (0.0, 1.0, 0.3)


@pytest.mark.parametrize('cls,enum', [(textdiff.Scheduler, textdiff.SchedulerParam),
                                      (textdiff.Denoiser, textdiff.DenoiserParam),
                                      (textdiff.SoftMask, textdiff.SoftMaskParam),
                                      (textdiff.Model, textdiff.ModelParam)])
def test_parameter_names_are_the_enum_names_and_round_trip(cls, enum):
    for member in enum:
        name = cls.param_name(member)
        assert name == member.name.lower()
        assert cls.param_from_name(name) is member
    with pytest.raises(TextdiffError) as e:
        cls.param_from_name('no_such_parameter')
    assert e.value.status == Status.NOT_FOUND


@pytest.mark.parametrize('cls,enum,settable', [
    (textdiff.Scheduler, textdiff.SchedulerParam, set(textdiff.SchedulerParam)),
    (textdiff.Denoiser, textdiff.DenoiserParam, {textdiff.DenoiserParam.ATTENTION, textdiff.DenoiserParam.BLOCK_LENGTH,
                                                 textdiff.DenoiserParam.BLOCK_START}),
    (textdiff.SoftMask, textdiff.SoftMaskParam, {textdiff.SoftMaskParam.TOP_K, textdiff.SoftMaskParam.RAW_S,
                                                 textdiff.SoftMaskParam.RAW_C, textdiff.SoftMaskParam.RAW_A})])
def test_bounds_hold_the_defaults_and_read_only_parameters_have_none(cls, enum, settable):
    for member in enum:
        if member in settable:
            lo, hi, default = cls.bounds(member)
            assert lo <= default <= hi
        else:
            with pytest.raises(TextdiffError) as e:
                cls.bounds(member)
            assert e.value.status == Status.INVALID_ARGUMENT


def test_scheduler_errors_carry_the_handle_message():
    with textdiff.Scheduler('cosine') as s:
        with pytest.raises(TextdiffError) as e:
            s.alpha_bar(1.5)
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message
        with pytest.raises(TextdiffError) as e:
            s.set('eps', 0.9)  # outside [0, 0.5]
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message
        with pytest.raises(TextdiffError) as e:
            s.spindle_keep([1, 2], 0.5)  # no token counts yet
        assert e.value.status == Status.STATE
    with pytest.raises(ValueError):
        textdiff.Scheduler('no-such-kind')


def test_nelbo_with_a_python_network_equals_the_library_network(model):
    ids = model.tokenize(TEXT, add_special=False)[:24]
    calls = []
    with model.denoiser(len(ids)) as d, textdiff.Scheduler() as s:
        def logits_fn(tokens, t):
            calls.append(t)
            return d.forward(tokens)

        py = textdiff.nelbo(s, logits_fn, ids, 2048, model.mask_id, method='quadrature', n_samples=12, seed=5)
        lib = textdiff.nelbo_denoiser(s, d, ids, model.mask_id, method='quadrature', n_samples=12, seed=5)
        with pytest.deprecated_call():  # the 0.1 spelling, same number
            assert s.nelbo_denoiser(d, ids, model.mask_id, method='quadrature', n_samples=12, seed=5) == lib
    assert len(calls) == 12
    assert py.nelbo == pytest.approx(lib.nelbo, rel=1e-9) and py.per_token == pytest.approx(lib.per_token, rel=1e-9)
    assert lib.nelbo > 0 and lib.std_error == 0.0  # quadrature is deterministic


def test_exception_in_the_nelbo_network_is_reraised():
    with textdiff.Scheduler() as s:
        def bad(tokens, t):
            raise RuntimeError('network down')
        with pytest.raises(RuntimeError, match='network down') as e:
            textdiff.nelbo(s, bad, [1, 2, 3], 10, 9)
        assert isinstance(e.value.__cause__, TextdiffError)
        with pytest.raises(TextdiffError) as e:  # the library's message, from the err buffer
            textdiff.nelbo(s, lambda tokens, t: np.zeros((3, 10)), [1, 2, 3], 10, 2)
        assert 'token 2 at 1' in e.value.message
        # and the scheduler still works
        assert s.alpha_bar(0.0) == 1.0


def test_transfer_schedules():
    assert textdiff.transfer_llada(10, 4) == [3, 3, 2, 2]
    assert sum(textdiff.transfer_llada(100, 7)) == 100
    ts = textdiff.transfer_dream_timesteps(4, 1e-3)
    assert ts.dtype == np.float32 and ts[0] == 1.0 and ts[-1] == np.float32(1e-3) and np.all(np.diff(ts) < 0)
    assert textdiff.transfer_dream(10, 3, 4) == 10  # the last step commits all
    assert textdiff.transfer_mask_predict(10, 0, 5) == 10 and textdiff.transfer_mask_predict(10, 5, 5) == 0
    assert textdiff.transfer_maskgit(16, 16, 3, 4) == 0
    with pytest.raises(TextdiffError) as e:
        textdiff.transfer_llada(10, 0)
    assert e.value.status == Status.INVALID_ARGUMENT


def test_noise_mask_is_seeded_and_follows_alpha_bar():
    x0 = np.arange(1000, dtype=np.int32) % 50
    assert (textdiff.noise_mask(x0, 0.0, 99) == 99).all()
    assert (textdiff.noise_mask(x0, 1.0, 99) == x0).all()
    a = textdiff.noise_mask(x0, 0.5, 99, seed=4)
    assert np.array_equal(a, textdiff.noise_mask(x0, 0.5, 99, seed=4))
    assert not np.array_equal(a, textdiff.noise_mask(x0, 0.5, 99, seed=5))
    frac = (a == 99).mean()
    assert abs(frac - 0.5) < 0.06  # 1000 Bernoulli(0.5): 3.8 standard deviations
    # a longer array split in two calls with first_position gives the same result
    b = np.concatenate([textdiff.noise_mask(x0[:300], 0.5, 99, seed=4),
                        textdiff.noise_mask(x0[300:], 0.5, 99, seed=4, first_position=300)])
    assert np.array_equal(a, b)
    u = textdiff.noise_uniform(x0, 0.0, 50, seed=1)
    assert u.min() >= 0 and u.max() < 50
    with pytest.raises(TextdiffError) as e:
        textdiff.noise_uniform(x0, 0.5, 10)  # tokens up to 49
    assert e.value.status == Status.INVALID_ARGUMENT
    with textdiff.Scheduler() as s, pytest.deprecated_call():  # the 0.1 spelling
        assert np.array_equal(s.noise_mask(x0, 0.5, 99, seed=4), a)


def test_transition_matrices_are_row_stochastic():
    with textdiff.Scheduler('linear') as s, textdiff.Transition('absorbing', 6, s, 4, mask_id=5) as tr:
        assert tr.n_vocab == 6 and tr.n_steps == 4
        for t in range(1, 5):
            q = tr.matrix(t)
            assert q.shape == (6, 6) and np.allclose(q.sum(axis=1), 1.0, atol=1e-12)
        qbar = tr.matrix(4, cumulative=True)
        assert np.allclose(qbar[:, 5], 1.0, atol=1e-12)  # linear schedule: everything absorbed at T


def test_gaussian_diffusion_follows_its_formulas():
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(64).astype(np.float32)
    ab_t, ab_prev = 0.6, 0.8
    c0, ct, var = textdiff.gauss_posterior_coefs(ab_t, ab_prev)
    beta = 1 - ab_t / ab_prev  # the header's closed forms
    assert c0 == pytest.approx(math.sqrt(ab_prev) * beta / (1 - ab_t), rel=1e-12)
    assert ct == pytest.approx(math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab_t), rel=1e-12)
    assert var == pytest.approx(beta * (1 - ab_prev) / (1 - ab_t), rel=1e-12)
    xt, eps = textdiff.gauss_noise(x0, ab_t, seed=3)
    assert np.allclose(xt, math.sqrt(ab_t) * x0 + math.sqrt(1 - ab_t) * eps, atol=1e-6)  # float32 rounding
    assert abs(eps.mean()) < 0.5 and 0.5 < eps.std() < 1.5  # 64 standard normals
    mean, v = textdiff.gauss_posterior_mean(x0, xt, ab_t, ab_prev)
    assert v == pytest.approx(var, rel=1e-12) and np.allclose(mean, c0 * x0 + ct * xt, atol=1e-6)
    a = textdiff.gauss_ddpm_step(x0, xt, ab_t, ab_prev, seed=1)
    assert np.array_equal(a, textdiff.gauss_ddpm_step(x0, xt, ab_t, ab_prev, seed=1))
    d = textdiff.gauss_ddim_step(x0, xt, ab_t, ab_prev, eta=0.0)
    eps_hat = (xt - math.sqrt(ab_t) * x0) / math.sqrt(1 - ab_t)
    assert np.allclose(d, math.sqrt(ab_prev) * x0 + math.sqrt(1 - ab_prev) * eps_hat, atol=1e-5)
    with pytest.raises(TextdiffError) as e:
        textdiff.gauss_noise(x0, 1.5)
    assert e.value.status == Status.INVALID_ARGUMENT


def test_embed_nearest_equals_numpy():
    rng = np.random.default_rng(1)
    emb = rng.standard_normal((40, 8)).astype(np.float32)
    x = rng.standard_normal((20, 8)).astype(np.float32)  # 20 rows: the sgemm path (n >= 16)
    ids, clamped = textdiff.embed_nearest(emb, x)
    want = np.argmin(((x[:, None, :].astype(np.float64) - emb[None]) ** 2).sum(-1), axis=1)
    assert ids.tolist() == want.tolist() and np.array_equal(clamped, emb[want])


def test_noise_per_token_follows_keep():
    x0 = np.arange(50, dtype=np.int32)
    assert (textdiff.noise_per_token(x0, np.zeros(50), 99) == 99).all()
    assert (textdiff.noise_per_token(x0, np.ones(50), 99) == x0).all()
    with textdiff.Scheduler() as s:
        s.set_token_counts(np.arange(1, 51, dtype=np.float32))
        keep = s.spindle_keep(x0, 0.5)
        assert keep.shape == (50,) and (keep >= 0).all() and (keep <= 0.999).all()
        assert keep[-1] > keep[0]  # frequent tokens are kept longer at t = 0.5 (lambda > 0)


def test_transition_operations_agree_with_its_matrices():
    v = 5
    with textdiff.Scheduler('cosine') as s, textdiff.Transition('uniform', v, s, 6) as tr:
        rng = np.random.default_rng(2)
        p = rng.random((3, v)).astype(np.float32)
        p /= p.sum(1, keepdims=True)
        for t in (1, 4):
            assert np.allclose(tr.apply(p, t), p @ tr.matrix(t), atol=1e-6)
            assert np.allclose(tr.apply(p, t, cumulative=True), p @ tr.matrix(t, cumulative=True), atol=1e-6)
            assert np.allclose(tr.rows([0, 3], t), tr.matrix(t)[[0, 3]], atol=1e-6)
        # with a one-hot p0 the posterior is Bayes' rule on the matrices
        x0, xt, t = 2, 4, 3
        onehot = np.eye(v, dtype=np.float32)[[x0]]
        post = tr.posterior([xt], onehot, t)
        want = tr.matrix(t)[:, xt] * tr.matrix(t - 1, cumulative=True)[x0]
        assert np.allclose(post[0], want / want.sum(), atol=1e-6)
        score = np.ones((2, v), dtype=np.float32)
        for out in (tr.sedd_euler([0, 1], score, 0.1), tr.sedd_analytic([0, 1], score, 0.1)):
            assert out.shape == (2, v) and np.allclose(out.sum(1), 1.0, atol=1e-5) and (out >= 0).all()
        loss = textdiff.d3pm_loss(tr, lambda toks, t: np.zeros((len(toks), v)), [0, 1, 2, 3], n_samples=4, seed=1)
        assert math.isfinite(loss.nelbo) and loss.nelbo > 0 and loss.n_tokens == 4
        with pytest.deprecated_call():  # the 0.1 spelling, same number
            assert tr.d3pm_loss(lambda toks, t: np.zeros((len(toks), v)), [0, 1, 2, 3], n_samples=4, seed=1) == loss
        with pytest.raises(LookupError):
            textdiff.d3pm_loss(tr, lambda toks, t: {}['x'], [0, 1], n_samples=2)
        with pytest.raises(TextdiffError) as e:
            tr.apply(p, 7)  # t > T
        assert e.value.status == Status.INVALID_ARGUMENT and e.value.message


def test_transition_from_caller_matrices():
    q = np.array([[0.5, 0.5, 0.0], [0.0, 1.0, 0.0], [0.25, 0.25, 0.5]], dtype=np.float32)
    with textdiff.Transition.from_matrices(q, n_steps=3) as tr:
        assert tr.n_steps == 3 and np.allclose(tr.matrix(2), q, atol=1e-7)
        assert np.allclose(tr.matrix(3, cumulative=True), q.astype(np.float64) @ q @ q, atol=1e-6)
    banded = np.array([[0.0, 0.6, 0.4], [0.3, 0.4, 0.3], [0.5, 0.5, 0.0]], dtype=np.float32)  # b = 1
    with textdiff.Transition.from_matrices(banded, n_steps=2, bandwidth=1) as tr:
        assert np.allclose(tr.matrix(1), [[0.6, 0.4, 0], [0.3, 0.4, 0.3], [0, 0.5, 0.5]], atol=1e-7)
    with pytest.raises(TextdiffError) as e:
        textdiff.Transition.from_matrices(q * 2, n_steps=1)  # rows sum to 2
    assert e.value.status == Status.INVALID_ARGUMENT and 'row' in e.value.message  # names the bad row


def test_ar_nll_matches_the_numpy_reference():
    """textdiff.ar_nll on the llama file of tests/parity/make_ar_goldens.py against the float64 reference
    of make_ar_nll_goldens.py (data/ar_nll.txt): 2e-4 nats per scored token; a bidirectional model is refused."""
    import os
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'tests', 'parity', 'data')
    with open(os.path.join(data, 'ar_nll.txt')) as f:
        line = next(ln for ln in f if ln.startswith('ar-llama-f32.gguf 8 '))
    head, ids = line.split(':')
    n_cond, want = int(head.split()[1]), float(head.split()[2])
    ids = [int(t) for t in ids.split()]
    with textdiff.Model(os.path.join(data, 'ar-llama-f32.gguf')) as m, m.denoiser(len(ids)) as d:
        got = textdiff.ar_nll(d, ids, n_cond)
        with pytest.raises(TextdiffError) as e:
            textdiff.ar_nll(d, ids, 0)
        assert e.value.status == Status.INVALID_ARGUMENT and 'n_cond' in e.value.message
    assert got.n_tokens == len(ids) - n_cond and got.std_error == 0.0
    assert abs(got.nelbo - want) <= 2e-4 * got.n_tokens
    assert got.per_token == pytest.approx(got.nelbo / got.n_tokens, rel=1e-12)
