"""test_tokenizer.py -- Tokenizer: ids equal the C tool's and llama.cpp's, text
round-trips, streaming decode equals whole decode, special tokens, errors."""
import json
import os
import sys

import pytest

import textdiff
from textdiff import Status, TextdiffError

TEXTS = ['the cat sat on the mat', 'Hello, World! 12345 6789', '  spaces\tand\nnewlines  ',
         'héllo wörld — naïve café ☕ 日本語', '<|endoftext|> is text here', '']


@pytest.mark.parametrize('text', TEXTS)
def test_tokenize_equals_the_tool(model, model_path, tool, text):
    for flags, add in (([], True), (['--no-special'], False)):
        r = tool('tokenize', *flags, model_path, text)
        line = r.stdout.decode().strip()
        want = [int(x) for x in line.split(',')] if line else []
        assert model.tokenize(text, add_special=add) == want, flags


def test_tokenize_equals_llama_cpp_on_the_fixture_prompt(model):
    # tests/fixtures/README.md: llama.cpp's ids for this prompt (BOS prepended)
    assert model.tokenize('the cat sat on the mat') == [2046, 116, 468, 258, 301, 274, 301, 270, 110, 275, 468, 268,
                                                         301]


@pytest.mark.parametrize('text', TEXTS)
def test_detokenize_equals_the_tool_and_round_trips(model, model_path, tool, text):
    ids = model.tokenize(text, add_special=False)
    assert model.detokenize(ids) == text
    if ids:
        r = tool('detokenize', model_path, ','.join(map(str, ids)))
        assert r.stdout.rstrip(b'\n') == model.tokenizer.detokenize_bytes(ids)


def test_bytes_input_and_parse_special(model):
    tok = model.tokenizer
    assert tok.tokenize(b'the cat', add_special=False) == tok.tokenize('the cat', add_special=False)
    ids = tok.tokenize('<|endoftext|>', add_special=False, parse_special=True)
    assert ids == [2046]
    assert 2046 not in tok.tokenize('<|endoftext|>', add_special=False)


def test_special_tokens_are_skipped_unless_rendered(model):
    tok = model.tokenizer
    assert tok.is_special(2046) and tok.is_special(2047) and not tok.is_special(116)
    assert tok.token_text(2047) == '<|mdm_mask|>' and tok.token_piece(2046) == b'<|endoftext|>'
    ids = [2046] + tok.tokenize('abc', add_special=False)
    assert tok.detokenize(ids) == 'abc'
    assert tok.detokenize(ids, render_special=True) == '<|endoftext|>abc'
    assert tok.n_vocab == 2048 and tok.kind == textdiff.TokenizerKind.BPE
    assert tok.special_id('mask') == 2047 and tok.special_id('pad') is None


def test_token_text_is_the_vocabulary_entry(model):
    vocab = model.meta('tokenizer.ggml.tokens')
    tok = model.tokenizer
    for i in (0, 32, 130, 256, 300, 1509, 2045):
        assert tok.token_text(i) == vocab[i]


def test_stream_decoding_yields_whole_characters_and_equals_detokenize(model):
    tok = model.tokenizer
    text = 'héllo wörld ☕ 日本語 done'
    ids = tok.tokenize(text, add_special=False)
    st = tok.stream()
    pieces = [st.piece(i) for i in ids] + [st.flush()]
    assert b''.join(pieces) == tok.detokenize_bytes(ids) == text.encode()
    for p in pieces:
        p.decode('utf-8')  # every piece is whole UTF-8 characters: no exception


def test_bad_ids_raise_invalid_argument(model):
    with pytest.raises(TextdiffError) as e:
        model.detokenize([5, 2048])
    assert e.value.status == Status.INVALID_ARGUMENT
    with pytest.raises(TextdiffError) as e:
        model.tokenizer.token_piece(-1)
    assert e.value.status == Status.INVALID_ARGUMENT


def test_out_of_range_ids_are_named_with_the_call(model):
    with pytest.raises(TextdiffError) as e:
        model.detokenize([999999])
    assert str(e.value) == ('tdiff_tokenizer_detokenize: invalid argument: id 999999 at index 0 is outside the '
                            'vocabulary [0, 2048)')
    with pytest.raises(TextdiffError, match=r'^tdiff_tokenizer_token_text: .*id -3 at index 0'):
        model.tokenizer.token_text(-3)


def test_tokenizer_outlives_its_model(model_path):
    m = textdiff.Model(model_path)
    tok = m.tokenizer
    m._tokenizer = None  # detach: the C tokenizer copies what it needs
    m.close()
    assert tok.detokenize(tok.tokenize('the cat', add_special=False)) == 'the cat'
    tok.close()


def with_template(fixture_path, template, tmp_path):
    """The fixture with another tokenizer.chat_template (everything else as written)."""
    import gguf
    g = gguf.read(fixture_path)
    w = gguf.Writer(alignment=g.alignment)
    for k, (vt, v, et) in g.kv.items():
        if k == 'tokenizer.chat_template':
            w.add(k, template)
        elif vt == gguf.ARRAY:
            w.add_array(k, v, et)
        else:
            w.add(k, v, vt)
    for t in g.tensors:
        w.add_raw_tensor(t['name'], t['type'], t['ne'], t['data'])
    path = str(tmp_path / 'chat.gguf')
    w.write(path)
    return path


def test_chat_prompt_of_the_fixture_equals_llama_cpp(model):
    tok = model.tokenizer
    assert tok.chat_format == 'content'
    assert tok.chat_ids([('user', 'the cat sat on the mat')]) == [2046, 116, 468, 258, 301, 274, 301, 270, 110, 275,
                                                                   468, 268, 301]


@pytest.mark.parametrize('case,fmt', [('llada-instruct', 'llama3'), ('dream-instruct', 'chatml')])
def test_chat_text_equals_the_jinja_goldens(model_path, tmp_path, case, fmt):
    """tests/convert/data/goldens.json: jinja2's rendering of the real templates with
    llama.cpp's inputs and post-processing (the fixture adds BOS, as LLaDA files do)."""
    from conftest import REPO
    gold = json.load(open(os.path.join(REPO, 'tests', 'convert', 'data', 'goldens.json')))['cases'][case]
    sys.path.insert(0, os.path.join(REPO, 'tests', 'convert'))
    import synth  # the templates the synthetic checkpoints carry (LLaDA's and Dream's)
    template = synth.LLADA_TEMPLATE if case.startswith('llada') else synth.DREAM_TEMPLATE
    with textdiff.Model(with_template(model_path, template, tmp_path)) as m:
        assert m.tokenizer.chat_format == fmt
        for g in gold['chat']:
            assert m.tokenizer.apply_chat(g['messages']) == g['prompt']
        assert m.generate('the cat', chat=True, system='Be brief.', steps=4, gen_length=4) is not None


def test_unrecognised_template_is_refused_with_the_reason(model_path, tmp_path):
    with textdiff.Model(with_template(model_path, '{{ bos_token }}{{ messages }}', tmp_path)) as m:
        assert m.tokenizer.chat_format is None
        with pytest.raises(TextdiffError, match='tdiff_tokenizer_apply_chat: .*none of the families'):
            m.tokenizer.apply_chat([('user', 'hi')])
