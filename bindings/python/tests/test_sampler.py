"""test_sampler.py -- Sampler: generate/infill equal `textdiff generate|infill --json` with
the same parameters and seed, llama.cpp's tokens in compat mode, parameters through the
enum setters, step callbacks (kept alive across gc, exceptions abort cleanly), history,
banned tokens, and a sampler over a Python network."""
import gc
import json
import os

import numpy as np
import pytest

import textdiff
from textdiff import Status, TextdiffError

PROMPT = [2046, 116, 468, 258, 301, 274, 301, 270, 110, 275, 468, 268, 301]
MASK = 2047

# (tool options, binding parameters): each run compared token for token
CONFIGS = [
    (['--steps', '16', '-n', '16', '--block', '4', '--seed', '7'],
     dict(steps=16, gen_length=16, block_length=4, seed=7)),
    (['--steps', '8', '-n', '16', '--temperature', '1.0', '--seed', '3', '--strategy', 'dream', '--top-p', '0.9'],
     dict(steps=8, gen_length=16, temperature=1.0, seed=3, strategy='dream', top_p=0.9)),
    (['--steps', '12', '-n', '12', '--strategy', 'llada', '--remask', 'random', '--seed', '11', '--temperature',
      '0.7', '--no-cut'],
     dict(steps=12, gen_length=12, strategy='llada', remasking='random', seed=11, temperature=0.7, cut_at_eos=0)),
    (['--steps', '8', '-n', '16', '--strategy', 'threshold', '--threshold', '0.5'],
     dict(steps=8, gen_length=16, strategy='threshold', threshold=0.5)),
    # continuous embedding diffusion: Gaussian draws, x̂0 expectation, clamping, DDIM on another schedule
    (['--steps', '10', '-n', '8', '--strategy', 'embedding', '--clamp', '--temperature', '1', '--seed', '5',
      '--no-cut'],
     dict(steps=10, gen_length=8, strategy='embedding', clamp=1, temperature=1.0, seed=5, cut_at_eos=0)),
    (['--steps', '6', '-n', '8', '--strategy', 'embedding', '--ddim', '--schedule', 'cosine', '--seed', '9',
      '--no-cut'],
     dict(steps=6, gen_length=8, strategy='embedding', ddim=1, gauss_schedule=textdiff.ScheduleKind.COSINE,
          seed=9, cut_at_eos=0)),
]


def tool_json(tool, *args):
    return json.loads(tool(*args).stdout.decode())


@pytest.mark.parametrize('cfg', range(len(CONFIGS)))
def test_generate_equals_the_tool(model, model_path, tool, cfg):
    opts, params = CONFIGS[cfg]
    want = tool_json(tool, 'generate', model_path, '--json', '--prompt-ids', ','.join(map(str, PROMPT)), *opts)
    with model.sampler(**params) as s:
        got = s.generate(PROMPT)
        assert got == want['tokens']
        assert s.stats['forward_passes'] == want['forward_passes'] and s.stats['steps'] == want['steps']
        if '\ufffd' not in want['text']:  # the tool and Python replace broken UTF-8 differently
            assert model.detokenize(got) == want['text']


@pytest.mark.parametrize('mode', ['prefix', 'dual', 'delayed'])
def test_cache_modes_by_name_with_the_tools_tokens_and_statistics(model, model_path, tool, mode):
    want = tool_json(tool, 'generate', model_path, '--json', '--prompt-ids', ','.join(map(str, PROMPT)), '--steps',
                     '16', '-n', '32', '--block', '8', '--cache', mode, '--early-stop')
    with model.sampler(steps=16, gen_length=32, block_length=8, cache=mode, early_stop=1) as s:
        assert s.get('cache') == textdiff.CacheMode[mode.upper()]
        assert s.generate(PROMPT) == want['tokens']
        stats = s.stats
        assert stats['rows_computed'] == want['rows_computed'] and stats['cache_hits'] == want['cache_hits']
        assert 0 < stats['rows_computed'] < stats['forward_passes'] * (len(PROMPT) + 32)
        assert stats['cache_hits'] > 0
    with pytest.raises(ValueError, match='cache mode'):
        model.sampler(cache='triple')


def test_generate_reproduces_llama_cpp_in_compat_mode(llada_path):
    # tests/fixtures/README.md: llama-diffusion-cli -ub 64 --diffusion-block-length 16
    # --diffusion-steps 16 --temp 0 --top-k 1 on "the cat sat on the mat"
    want = [1991] * 8 + [1438] * 4 + [130] * 24 + [1509] * 15
    with textdiff.Model(llada_path) as m:
        s = m.sampler(compat='llamacpp', gen_length=64, block_length=16, steps=16, top_k=1, temperature=0.0)
        prompt = m.tokenize('the cat sat on the mat')
        assert prompt == PROMPT
        assert s.generate(prompt) == want


def test_text_prompt_is_tokenized_as_the_tool_does(model, model_path, tool):
    want = tool_json(tool, 'generate', model_path, '--json', '-p', 'It is a truth', '--steps', '8', '-n', '8')
    assert model.sampler(steps=8, gen_length=8).generate('It is a truth') == want['tokens']
    assert model.generate('It is a truth', steps=8, gen_length=8) == model.detokenize(want['tokens'])


def test_infill_equals_the_tool(model, model_path, tool):
    canvas = [2046, 116, MASK, MASK, MASK, 468, MASK, MASK, 301]
    want = tool_json(tool, 'infill', model_path, '--json', '--canvas-ids', ','.join(map(str, canvas)), '--steps',
                     '5', '--seed', '2', '--temperature', '0.5')
    with model.sampler(steps=5, seed=2, temperature=0.5) as s:
        got = s.infill(canvas)
    assert got == want['tokens'] and len(got) == len(canvas)
    assert [g for g, c in zip(got, canvas) if c != MASK] == [c for c in canvas if c != MASK]
    assert MASK not in got


def test_infill_text_holes_equal_the_tool(model, model_path, tool):
    text = 'the [MASK:3] sat on [MASK:2] mat'
    want = tool_json(tool, 'infill', model_path, '--json', text, '--steps', '5')
    assert model.sampler(steps=5).infill(text) == want['tokens']


@pytest.mark.parametrize('hole', ['[MASK:x]', '[MASK:0]', '[MASK:-2]', '[MASK:3', '[MASK:]'])
def test_bad_holes_are_refused_like_the_tool(model, model_path, tool, hole):
    text = 'the cat ' + hole + ' on the mat'
    r = tool('infill', model_path, text, '--steps', '2', check=False)
    assert r.returncode != 0 and b'bad hole' in r.stderr
    with pytest.raises(ValueError, match=r"^infill: bad hole '\[MASK:.*' at character 8 \(write \[MASK:n\], n >= 1\)"):
        model.sampler(steps=2).infill(text)


def test_model_generate_is_the_sampler_in_one_call(model):
    s = model.sampler(steps=8, gen_length=8, seed=3)
    want = model.detokenize(s.generate(model.tokenize('the cat')))
    assert model.generate('the cat', steps=8, gen_length=8, seed=3) == want


def test_parameters_go_through_the_enum_setters(model):
    s = model.sampler()
    lo, hi, default = textdiff.param_bounds('steps')
    assert (lo, hi, default) == (1, 1 << 20, 64) and s.get('steps') == 64
    s.set(steps=32, temperature=0.25, strategy='dream', remasking='entropy')
    assert s.get('steps') == 32 and s.get('temperature') == 0.25
    assert s.get('strategy') == textdiff.Strategy.DREAM and s.get('remasking') == textdiff.Remasking.ENTROPY
    s.set(textdiff.SamplerParam.TOP_K, 5)
    assert s.get(textdiff.SamplerParam.TOP_K) == 5
    assert textdiff.strategy_name(textdiff.Strategy.LLADA) == 'llada'
    assert textdiff.remasking_name(1) == 'low_confidence'


def test_bad_parameters_raise_with_the_library_message(model):
    s = model.sampler()
    with pytest.raises(TextdiffError) as e:
        s.set(steps=0)
    assert e.value.status == Status.INVALID_ARGUMENT and e.value.message and e.value.function == \
        'tdiff_sampler_set_int'
    with pytest.raises(TextdiffError) as e:
        s.set(top_p=0.0)
    assert e.value.status == Status.INVALID_ARGUMENT and e.value.message
    with pytest.raises(TextdiffError) as e:
        s.set(strategy='no-such-strategy')
    assert e.value.status == Status.NOT_FOUND and 'no-such-strategy' in str(e.value)
    with pytest.raises(TextdiffError) as e:
        s.set(stat_steps=3)  # read-only
    assert e.value.status == Status.INVALID_ARGUMENT
    s.set(steps=5, gen_length=16, block_length=4)  # 4 blocks do not divide 5 steps
    with pytest.raises(TextdiffError) as e:
        s.generate(PROMPT)
    assert e.value.status == Status.INVALID_ARGUMENT and e.value.message
    s.set(steps=4)
    with pytest.raises(TextdiffError) as e:
        s.generate(PROMPT + [MASK])  # the prompt must not contain the mask
    assert e.value.status == Status.INVALID_ARGUMENT and e.value.message


def test_step_callback_sees_every_step_and_survives_gc(model):
    s = model.sampler(steps=8, gen_length=16, block_length=8, seed=1)
    seen = []

    def on_step(step, n_steps, canvas, conf):
        gc.collect()  # the ctypes callback object must not be collected while C may call it
        seen.append((step, n_steps, canvas, conf))

    s.set_callback(on_step)
    del on_step
    gc.collect()
    out = s.generate(PROMPT)
    assert [x[0] for x in seen] == list(range(8)) and all(x[1] == 8 for x in seen)
    n_masked = [int((c == MASK).sum()) for _, _, c, _ in seen]
    assert n_masked == sorted(n_masked, reverse=True) and n_masked[-1] == 0
    last = seen[-1][2]
    assert last.dtype == np.int32 and last.shape == (len(PROMPT) + 16,)
    assert last[:len(PROMPT)].tolist() == PROMPT
    eos = [i for i, t in enumerate(last[len(PROMPT):].tolist()) if t == 2046]
    assert out == last[len(PROMPT):len(PROMPT) + (eos[0] if eos else 16)].tolist()
    conf = seen[0][3]
    assert conf.dtype == np.float32 and np.isnan(conf[:len(PROMPT)]).all()  # nothing predicted in the prompt
    # the same run without a callback gives the same tokens
    s.set_callback(None)
    assert s.generate(PROMPT) == out


def test_per_call_callback_and_generation_in_callback_gc(model):
    s = model.sampler(steps=4, gen_length=8)
    steps = []
    out = s.generate(PROMPT, callback=lambda st, n, c, f: steps.append(st) or gc.collect() and None)
    assert steps == [0, 1, 2, 3] and len(out) <= 8
    steps.clear()
    s.generate(PROMPT)
    assert steps == []  # the per-call callback was removed


def test_callback_returning_true_aborts_and_the_sampler_stays_usable(model):
    s = model.sampler(steps=8, gen_length=8, seed=4)
    reference = s.generate(PROMPT)
    calls = []
    with pytest.raises(TextdiffError) as e:
        s.generate(PROMPT, callback=lambda st, n, c, f: calls.append(st) or st == 2)
    assert e.value.status == Status.ABORTED and calls == [0, 1, 2]
    assert s.generate(PROMPT) == reference


def test_exception_in_callback_aborts_cleanly_and_is_reraised(model):
    s = model.sampler(steps=8, gen_length=8, seed=4)
    reference = s.generate(PROMPT)
    calls = []

    def boom(step, n, canvas, conf):
        calls.append(step)
        if step == 1:
            raise KeyError('from the callback')

    s.set_callback(boom)
    with pytest.raises(KeyError, match='from the callback') as e:
        s.generate(PROMPT)
    assert calls == [0, 1]  # stopped at once: the library was told to abort
    assert isinstance(e.value.__cause__, TextdiffError) and e.value.__cause__.status == Status.ABORTED
    s.set_callback(None)
    assert s.generate(PROMPT) == reference
    with pytest.raises(ZeroDivisionError):
        s.infill([2046, MASK, MASK, 116], callback=lambda *a: 1 / 0)


def test_history_holds_every_step(model):
    s = model.sampler(steps=6, gen_length=12, block_length=6, keep_history=1, cut_at_eos=0)
    out = s.generate(PROMPT)
    h = s.history()
    assert h.shape == (6, len(PROMPT) + 12) and h.dtype == np.int32
    assert h[-1, len(PROMPT):].tolist() == out
    assert (h[0] == MASK).sum() > (h[-1] == MASK).sum() == 0
    s2 = model.sampler(steps=6, gen_length=12)
    s2.generate(PROMPT)
    with pytest.raises(TextdiffError) as e:
        s2.history()
    assert e.value.status == Status.STATE


def test_banned_tokens_never_appear(model):
    s = model.sampler(steps=16, gen_length=16, cut_at_eos=0)
    free = s.generate(PROMPT)
    banned = sorted(set(free))
    s.set_banned(banned)
    out = s.generate(PROMPT)
    assert not set(out) & set(banned)
    with pytest.raises(TextdiffError) as e:
        s.set_banned([4096])
    assert e.value.status == Status.INVALID_ARGUMENT


def test_sampler_over_a_python_network_equals_the_library_network(llada_path):
    with textdiff.Model(llada_path) as m, m.denoiser(len(PROMPT) + 16) as d:
        calls = []

        def logits_fn(tokens, t, positions):
            calls.append(len(positions))
            gc.collect()
            return d.forward(tokens, positions=positions)

        params = dict(steps=8, gen_length=16, block_length=8, seed=9, temperature=0.8)
        want = m.sampler(**params).generate(PROMPT)
        with textdiff.Sampler.from_callback(logits_fn, 2048, MASK, eos_id=2046, **params) as s:
            gc.collect()
            got = s.generate(PROMPT)
        assert calls and got == want


def test_exception_in_the_python_network_is_reraised(llada_path):
    def bad(tokens, t, positions):
        return np.zeros((len(positions), 7))  # wrong shape

    s = textdiff.Sampler.from_callback(bad, 2048, MASK, steps=2, gen_length=4)
    with pytest.raises(ValueError, match='shape'):
        s.generate(PROMPT)
    with pytest.raises(TypeError):
        s.generate('text needs a model')
    s.close()


@pytest.mark.parametrize('strategy,graph', [('d3pm', 'absorbing'), ('d3pm', 'uniform'), ('sedd_euler', 'absorbing'),
                                            ('sedd_analytic', 'uniform')])
def test_graph_strategies_with_borrowed_handles_equal_the_tool(llada_path, tool, strategy, graph):
    steps = 8
    want = tool_json(tool, 'generate', llada_path, '--json', '--prompt-ids', ','.join(map(str, PROMPT)), '--steps',
                     steps, '-n', '8', '--strategy', strategy, '--graph', graph, '--seed', '5', '--no-cut')
    with textdiff.Model(llada_path) as m:
        s = m.sampler(strategy=strategy, steps=steps, gen_length=8, seed=5, cut_at_eos=0)
        # the tool's set-up: D3PM on the linear schedule over --steps, SEDD on the log-linear sigma(t)
        kind = 'linear' if strategy == 'd3pm' else 'loglinear'
        sched = textdiff.Scheduler(kind)
        s.set_transition(textdiff.Transition(graph, 2048, sched, steps, mask_id=MASK))
        s.set_scheduler(sched)
        del sched
        gc.collect()  # the sampler keeps the borrowed handles alive
        assert s.generate(PROMPT) == want['tokens']
        s.set_transition(None)
        with pytest.raises(TextdiffError) as e:
            s.generate(PROMPT)
        assert e.value.status == Status.STATE and e.value.message


def test_autoregressive_model_generates_with_strategy_ar():
    """A llama.cpp-style `llama` file (tests/parity/make_ar_goldens.py): ar is its default strategy,
    greedy decoding equals the numpy reference's (data/ar_greedy.txt), the diffusion strategies are refused."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'tests', 'parity', 'data')
    with open(os.path.join(data, 'ar_greedy.txt')) as f:
        line = next(ln for ln in f if ln.startswith('ar-qwen2-f32.gguf '))
    head, prompt, expect = line.split(':')
    with textdiff.Model(os.path.join(data, 'ar-qwen2-f32.gguf')) as m:
        s = m.sampler(gen_length=int(head.split()[1]))
        assert s.get('strategy') == textdiff.Strategy.AR and textdiff.strategy_name(textdiff.Strategy.AR) == 'ar'
        assert list(s.generate([int(t) for t in prompt.split()])) == [int(t) for t in expect.split()]
        s.set(strategy='llada')
        with pytest.raises(TextdiffError) as e:
            s.generate([1, 2, 3])
        assert e.value.status == Status.UNSUPPORTED and 'use the ar strategy' in str(e.value)


def test_block_diffusion_replays_the_reference_trajectory():
    """bd3 (BD3-LM's semi-AR sampler) on the converted BD3-LM layout: the seeded run ends on the
    canvas of make_bd3_goldens.py's reference (tests/parity/data/bd3_trajectories.txt), with the
    block length from the file, and the same under the exact KV cache."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'tests', 'parity', 'data')
    with open(os.path.join(data, 'bd3_trajectories.txt')) as f:
        lines = f.read().split('\n')
    start = lines.index('case bd3_ddpm')
    block = lines[start:lines.index('end', start)]
    canvas = [int(t) for t in next(ln for ln in block if ln.startswith('canvas ')).split()[2:]]
    ints = {ln.split()[1].lower(): int(ln.split()[2]) for ln in block if ln.startswith('int ')}
    last = [int(t) for t in [ln for ln in block if ln.startswith('step ')][-1].split()[2:]]
    n_prompt = len(canvas) - ints['gen_length']
    assert textdiff.strategy_name(textdiff.Strategy.BD3) == 'bd3'
    assert textdiff.strategy_name(textdiff.Strategy.BD3_FIRST_HITTING) == 'bd3_first_hitting'
    with textdiff.Model(os.path.join(data, 'bd3lm-f32.gguf')) as m:
        for cache in ('none', 'dual'):
            s = m.sampler(strategy='bd3', gen_length=ints['gen_length'], steps=ints['steps'], seed=ints['seed'],
                          cut_at_eos=0, cache=cache)
            assert list(s.generate(canvas[:n_prompt])) == last[n_prompt:]
def test_spindle_strategy_equals_the_tool_on_a_bert_layout_file(tool, tmp_path):
    """DiffusionBERT's reverse process (Strategy.SPINDLE) on the random BERT-layout parity file: a spindle
    scheduler with the tool's counts (1 + occurrences in --spindle-corpus) gives the tool's tokens; without
    the scheduler the strategy refuses to start."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'tests', 'parity', 'data')
    path = os.path.join(data, 'bert-f32.gguf')
    corpus = tmp_path / 'corpus.txt'
    corpus.write_text('the cat sat on the mat. ' * 10)
    want = tool_json(tool, 'generate', path, '--json', '-p', '', '-n', '12', '--steps', '16', '--strategy',
                     'spindle', '--spindle-corpus', str(corpus), '--seed', '9', '--no-cut')
    with textdiff.Model(path) as m:
        s = m.sampler(strategy=textdiff.Strategy.SPINDLE, steps=16, gen_length=12, seed=9, cut_at_eos=0)
        assert textdiff.strategy_name(textdiff.Strategy.SPINDLE) == 'spindle'
        with pytest.raises(TextdiffError) as e:
            s.generate([])
        assert e.value.status == Status.STATE
        counts = np.ones(m.n_vocab, dtype=np.float32)
        for t in m.tokenize(corpus.read_text(), add_special=False):
            counts[t] += 1
        with textdiff.Scheduler('spindle') as sched:
            sched.set_token_counts(counts)
            s.set_scheduler(sched)
            assert list(s.generate([])) == want['tokens']


def test_planned_strategy_replays_the_reference():
    """Planned diffusion (Strategy.PLANNED) on the random planned file: every case of
    make_planned_goldens.py (tests/parity/data/planned_cases.txt) gives the reference's tokens with the
    PLANNED_* parameters set by name, with and without the KV cache; a file without tag ids refuses."""
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', 'tests', 'parity', 'data')
    assert textdiff.strategy_name(textdiff.Strategy.PLANNED) == 'planned'
    with open(os.path.join(data, 'planned_cases.txt')) as f:
        cases = [ln.split('|') for ln in f.read().splitlines() if ln.strip()]
    with textdiff.Model(os.path.join(data, 'planned-llada-f32.gguf')) as m:
        for name, knobs, prompt, expect, forwards, _ in cases:
            gen, per_token, spans, max_len, default, scale = knobs.split()
            for cache in ('none', 'prefix'):
                s = m.sampler(strategy='planned', gen_length=int(gen), cut_at_eos=0, cache=cache,
                              planned_steps_per_token=float(per_token), planned_max_spans=int(spans),
                              planned_max_span_length=int(max_len), planned_default_span_length=int(default),
                              planned_length_scale=float(scale))
                assert list(s.generate([int(t) for t in prompt.split()])) == [int(t) for t in expect.split()], name
                assert s.get('stat_forward_passes') == int(forwards)
    with textdiff.Model(os.path.join(data, 'llada-f32.gguf')) as m:
        with pytest.raises(TextdiffError) as e:
            m.sampler(strategy='planned').generate([1, 2, 3])
        assert e.value.status == Status.UNSUPPORTED and 'tdiff.planned.' in str(e.value)
