// app.js -- the page's side of examples/web: fetches the module and the model,
// runs an infill through textdiff_web.c with a time budget per animation frame
// (requestAnimationFrame: a few ms of sampler steps, then draw the canvas), so
// the page keeps painting and answering input while the model works.
//
// For tests (tests/web/check_page.py) the page keeps its state in window.tdiff:
//   state   'loading' | 'ready' | 'running' | 'done' | 'error'
//   error   the message when state is 'error'
//   result  {tokens, text} of the last finished infill (as `textdiff infill --json`)
//   maskedLeft  positions still masked in the last canvas drawn
//   frames  per frame of the last infill: {gap (ms since the previous frame), work (ms in
//           the sampler), steps (steps taken)}
// and window.tdiffInfill(text, steps, seed, budgetMs) starts an infill.
'use strict';

const HOLE_TOKENS = 4; // what a bare [MASK] stands for
const params = new URLSearchParams(location.search);
const modelUrl = params.get('model') || 'austen-llada.gguf';

const tdiff = (window.tdiff = { state: 'loading', error: '', result: null, frames: [] });
const $ = (id) => document.getElementById(id);
let mod = null;

function fail(msg) {
  tdiff.state = 'error';
  tdiff.error = msg;
  $('status').textContent = 'error: ' + msg;
  $('go').disabled = false;
}

function cstr(ptr) {
  return ptr ? mod.UTF8ToString(ptr) : null;
}

async function start() {
  $('hole').textContent = HOLE_TOKENS;
  try {
    const [m, resp] = await Promise.all([createTextdiff(), fetch(modelUrl)]);
    mod = m;
    if (!resp.ok) throw new Error(`${modelUrl}: HTTP ${resp.status}`);
    const bytes = new Uint8Array(await resp.arrayBuffer());
    // The library reads tensors in place: the copy stays for the page's life.
    const ptr = mod._malloc(bytes.length);
    if (!ptr) throw new Error('out of memory for the model');
    mod.HEAPU8.set(bytes, ptr);
    if (mod.ccall('web_load', 'number', ['number', 'number'], [ptr, bytes.length]) !== 0)
      throw new Error(cstr(mod._web_error()));
    tdiff.state = 'ready';
    $('status').textContent = `ready: ${(bytes.length / 1e6).toFixed(1)} MB model loaded`;
    $('go').disabled = false;
  } catch (e) {
    fail(String(e.message || e));
  }
}

// ---- drawing: the canvas as flowing tokens; holes grey until filled --------

function draw(canvasJson, holes) {
  const view = $('view');
  const ctx = view.getContext('2d');
  const pad = 24, lineH = 40, maxW = view.width - 2 * pad;
  ctx.clearRect(0, 0, view.width, view.height);
  ctx.font = '28px Georgia, serif';
  ctx.textBaseline = 'top';
  let x = pad, y = pad;
  canvasJson.tokens.forEach((t, i) => {
    if (!t.masked && t.text === '') return; // special tokens (BOS) draw nothing
    const parts = (t.masked ? '\u2591\u2591' : t.text).split('\n');
    parts.forEach((part, k) => {
      if (k > 0) { x = pad; y += lineH; }
      const w = ctx.measureText(part).width;
      if (x + w > pad + maxW && x > pad) { x = pad; y += lineH; part = part.replace(/^ /, ''); }
      if (t.masked) {
        ctx.fillStyle = '#ddd';
        ctx.fillRect(x + 2, y, w - 4, lineH - 8);
      } else {
        // filled positions in blue, brighter the more confident the last step was
        ctx.fillStyle = holes[i] ? `hsl(215, 80%, ${Math.round(55 - 25 * Math.max(0, t.conf))}%)` : '#222';
        ctx.fillText(part, x, y);
      }
      x += w;
    });
  });
}

// ---- the infill loop: a time budget per animation frame --------------------

function infill(text, steps, seed, budgetMs) {
  if (!mod || tdiff.state === 'loading') return false;
  text = text.replace(/\[MASK\]/g, `[MASK:${HOLE_TOKENS}]`);
  const n = mod.ccall('web_begin', 'number', ['string', 'number', 'number'], [text, steps, seed]);
  if (n < 0) { fail(cstr(mod._web_error())); return false; }
  const first = JSON.parse(cstr(mod._web_canvas_json()));
  const holes = first.tokens.map((t) => t.masked === 1);
  draw(first, holes);
  tdiff.state = 'running';
  tdiff.error = '';
  tdiff.result = null;
  tdiff.frames = [];
  $('go').disabled = true;
  const t0 = performance.now();
  let last = null;
  const frame = (now) => {
    const w0 = performance.now();
    const r = mod._web_step_for(budgetMs * 1000);
    if (r < 0) { fail(cstr(mod._web_error())); return; }
    const c = JSON.parse(cstr(mod._web_canvas_json()));
    draw(c, holes);
    const work = performance.now() - w0;
    tdiff.frames.push({ gap: last === null ? 0 : now - last, work, steps: r % 1000000 });
    last = now;
    tdiff.maskedLeft = c.tokens.filter((t) => t.masked).length;
    $('status').textContent = `step ${c.step}/${c.steps}`;
    if (r >= 1000000) {
      const res = cstr(mod._web_result_json());
      if (!res) { fail(cstr(mod._web_error())); return; }
      tdiff.result = JSON.parse(res);
      const gaps = tdiff.frames.map((f) => f.gap);
      const works = tdiff.frames.map((f) => f.work);
      $('status').textContent = `done: ${c.step} steps in ${((performance.now() - t0) / 1000).toFixed(2)} s, ` +
        `${tdiff.frames.length} frames, longest frame gap ${Math.max(...gaps).toFixed(1)} ms, ` +
        `longest slice of work ${Math.max(...works).toFixed(1)} ms`;
      $('result').textContent = tdiff.result.text;
      $('go').disabled = false;
      tdiff.state = 'done';
      return;
    }
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);
  return true;
}

window.tdiffInfill = infill;
$('go').addEventListener('click', () =>
  infill($('text').value, +$('steps').value, +$('seed').value, +$('budget').value));
start();
