-- textdiff -- a Neovim plugin that fills [MASK:n] / [MASK] holes in a buffer
-- with a text diffusion model, through libtextdiff's C API (LuaJIT FFI).
--
-- The refinement never blocks the editor: a vim.loop timer runs one "tick"
-- every `interval_ms`, and each tick advances the sampler with
-- tdiff_sampler_step_for(budget) -- steps until `budget_ms` has passed, at
-- least one, never interrupting a step -- then writes the holes' current text
-- into the buffer (still-masked tokens shown as `mask_char`). Between ticks
-- Neovim handles keys, redraws and other timers as usual.
--
-- What it is not: a chat or completion engine. The text around the holes is
-- fixed; only the holes change. One infill per buffer at a time.
--
--   require('textdiff').setup({ model = '/path/model.gguf', steps = 16, seed = 0 })
--   :TextdiffInfill          (whole buffer)   :'<,'>TextdiffInfill  (the visual selection)
--   :TextdiffCancel
local tdffi = require('textdiff.ffi')
local ffi = require('ffi')

local M = {}

local defaults = {
  model = nil,        -- GGUF file; nil = $TEXTDIFF_MODEL
  lib = nil,          -- libtextdiff.so; nil = $TEXTDIFF_LIB, then the system's
  steps = nil,        -- refinement steps; nil = one per masked token
  seed = 0,           -- the sampler's seed (same seed, same text as `textdiff infill --seed`)
  budget_ms = 8,      -- time given to the sampler per tick (it may overrun by one step)
  interval_ms = 16,   -- timer period: one tick per interval (~60 a second)
  mask_len = 4,       -- tokens of a bare [MASK] hole
  mask_char = '_',    -- how a still-masked token is shown while refining
  params = {},        -- other sampler parameters by name: { temperature = 0.8, strategy = 'threshold', ... }
}
M.options = vim.deepcopy(defaults)

function M.setup(opts)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(defaults), opts or {})
end

-- ---- the library, the model and its tokenizer (loaded once per path) -------

local models = {}

local function check(lib, st, what, s)
  if st ~= tdffi.OK then
    local msg = s and ffi.string(lib.tdiff_sampler_last_error(s)) or ''
    error(string.format('textdiff: %s: %s%s', what, ffi.string(lib.tdiff_status_string(st)),
                        msg ~= '' and (': ' .. msg) or ''), 0)
  end
end

local function model_for(lib, path)
  if models[path] then return models[path] end
  local err = ffi.new('char[256]')
  local pm = ffi.new('tdiff_model*[1]')
  if lib.tdiff_model_load_file(path, nil, pm, err, 256) ~= tdffi.OK then
    error("textdiff: cannot load '" .. path .. "': " .. ffi.string(err), 0)
  end
  local model = ffi.gc(pm[0], lib.tdiff_model_free)
  local pt = ffi.new('tdiff_tokenizer*[1]')
  if lib.tdiff_tokenizer_create(model, nil, pt, err, 256) ~= tdffi.OK then
    error("textdiff: '" .. path .. "' has no usable tokenizer: " .. ffi.string(err), 0)
  end
  local mask = ffi.new('int32_t[1]')
  if lib.tdiff_model_special_id(model, tdffi.SPECIAL_MASK, mask) ~= tdffi.OK then
    error("textdiff: '" .. path .. "' has no mask token: it cannot infill", 0)
  end
  -- The tokenizer copies what it needs, but the sampler reads the model: keep both.
  models[path] = { model = model, tok = ffi.gc(pt[0], lib.tdiff_tokenizer_free), mask = mask[0] }
  return models[path]
end

local function tokenize(lib, tok, text, flags, out)
  local n = ffi.new('size_t[1]')
  local st = lib.tdiff_tokenizer_tokenize(tok, text, #text, flags, nil, 0, n)
  if st ~= tdffi.OK and st ~= tdffi.E_BUFFER_TOO_SMALL then check(lib, st, 'tokenize') end
  local ids = ffi.new('int32_t[?]', math.max(tonumber(n[0]), 1))
  check(lib, lib.tdiff_tokenizer_tokenize(tok, text, #text, flags, ids, n[0], n), 'tokenize')
  for i = 0, tonumber(n[0]) - 1 do out[#out + 1] = ids[i] end
end

local function detokenize(lib, tok, ids, n)
  if n == 0 then return '' end
  local len = ffi.new('size_t[1]')
  local cap = 16 * n + 64
  local buf = ffi.new('char[?]', cap)
  local st = lib.tdiff_tokenizer_detokenize(tok, ids, n, 0, buf, cap, len)
  if st == tdffi.E_BUFFER_TOO_SMALL then
    cap = tonumber(len[0])
    buf = ffi.new('char[?]', cap)
    st = lib.tdiff_tokenizer_detokenize(tok, ids, n, 0, buf, cap, len)
  end
  check(lib, st, 'detokenize')
  return ffi.string(buf, len[0])
end

-- ---- holes ------------------------------------------------------------------

-- Splits text into pieces: {text = s} or {hole = n, from = byte, to = byte}
-- (1-based, inclusive). "[MASK:n]" is n tokens (n from 1 to 999999999, as
-- `textdiff infill`), "[MASK]" is mask_len tokens; any other "[MASK:" is an error.
function M.parse(text, mask_len)
  local pieces, pos = {}, 1
  while pos <= #text do
    local at = text:find('[MASK', pos, true)
    while at and not (text:sub(at, at + 5) == '[MASK:' or text:sub(at, at + 5) == '[MASK]') do
      at = text:find('[MASK', at + 1, true)
    end
    if not at then
      pieces[#pieces + 1] = { text = text:sub(pos) }
      break
    end
    if at > pos then pieces[#pieces + 1] = { text = text:sub(pos, at - 1) } end
    local n, to
    if text:sub(at, at + 5) == '[MASK]' then
      n, to = mask_len, at + 5
    else
      local digits = text:match('^%[MASK:(%d+)%]', at)
      n = digits and #digits <= 9 and tonumber(digits) or 0
      if n < 1 then
        error(string.format('textdiff: bad hole at byte %d (write [MASK:n] with n from 1 to 999999999, or [MASK])',
                            at - 1), 0)
      end
      to = at + 6 + #digits
    end
    pieces[#pieces + 1] = { hole = n, from = at, to = to }
    pos = to + 1
  end
  return pieces
end

-- The canvas exactly as `textdiff infill` builds it (src/infill.c): each text
-- piece tokenized (the first with the model's special tokens, also when the
-- text starts with a hole), each hole as n mask tokens. Returns the ids (a Lua
-- list) and, per hole, its first canvas index (0-based) and length.
local function canvas_of(lib, m, pieces)
  local ids, spans = {}, {}
  for i, p in ipairs(pieces) do
    local flags = i == 1 and tdffi.TOKENIZE_ADD_SPECIAL or 0
    if p.text then
      tokenize(lib, m.tok, p.text, flags, ids)
    else
      if i == 1 then tokenize(lib, m.tok, '', flags, ids) end
      spans[#spans + 1] = { at = #ids, n = p.hole }
      for _ = 1, p.hole do ids[#ids + 1] = m.mask end
    end
  end
  return ids, spans
end

-- ---- a running infill --------------------------------------------------------

local ns = vim.api.nvim_create_namespace('textdiff')
M.jobs = {} -- by buffer number

-- The text of one hole now: committed tokens detokenized, masked ones as mask_char.
local function hole_text(job, span)
  local parts, run_from = {}, nil
  local function flush(upto)
    if run_from then
      parts[#parts + 1] = detokenize(job.lib, job.m.tok, job.tokens + run_from, upto - run_from)
      run_from = nil
    end
  end
  for k = span.at, span.at + span.n - 1 do
    if job.masked[k] ~= 0 then
      flush(k)
      parts[#parts + 1] = job.opts.mask_char
    elseif not run_from then
      run_from = k
    end
  end
  flush(span.at + span.n)
  return table.concat(parts)
end

-- Writes every hole's current text between its extmarks (only changed ones).
-- The whole infill stays one undo step (undojoin after the first write).
local function render(job)
  local buf = job.buf
  for _, span in ipairs(job.spans) do
    local text = hole_text(job, span)
    if text ~= span.shown then
      local mark = vim.api.nvim_buf_get_extmark_by_id(buf, ns, span.mark, { details = true })
      local sr, sc, er, ec = mark[1], mark[2], mark[3].end_row, mark[3].end_col
      vim.api.nvim_buf_call(buf, function() -- undojoin acts on the current buffer: make it buf
        if job.written then pcall(vim.cmd, 'undojoin') end
        vim.api.nvim_buf_set_text(buf, sr, sc, er, ec, vim.split(text, '\n', { plain = true }))
      end)
      job.written = true
      span.shown = text
    end
  end
end

local function finish(job, err)
  if job.timer then
    job.timer:stop()
    job.timer:close()
    job.timer = nil
  end
  if job.sampler then
    job.lib.tdiff_sampler_free(job.sampler) -- also cancels a generation still running
    job.sampler = nil
  end
  if vim.api.nvim_buf_is_valid(job.buf) then vim.api.nvim_buf_clear_namespace(job.buf, ns, 0, -1) end
  M.jobs[job.buf] = nil
  job.error = err
  job.finished = true
  if err then vim.notify(err, vim.log.levels.ERROR) end
  if job.on_done then job.on_done(job) end
end

-- One timer tick: steps for the budget, reads the canvas, updates the buffer.
local function tick(job)
  if job.finished then return end
  if not vim.api.nvim_buf_is_valid(job.buf) then return finish(job, 'textdiff: the buffer went away') end
  local lib, s = job.lib, job.sampler
  local ok, err = pcall(function()
    local taken, done = ffi.new('size_t[1]'), ffi.new('int[1]')
    local t0 = vim.loop.hrtime()
    check(lib, lib.tdiff_sampler_step_for(s, job.opts.budget_ms * 1000, taken, done), 'step', s)
    local dt = (vim.loop.hrtime() - t0) / 1e6
    job.ticks = job.ticks + 1
    job.steps = job.steps + tonumber(taken[0])
    job.max_tick_ms = math.max(job.max_tick_ms, dt)
    job.busy_ms = job.busy_ms + dt
    local n = ffi.new('size_t[1]')
    if done[0] ~= 0 then
      check(lib, lib.tdiff_sampler_result(s, job.tokens, job.n, n), 'result', s)
      ffi.fill(job.masked, job.n, 0)
    else
      check(lib, lib.tdiff_sampler_canvas(s, job.tokens, nil, job.masked, job.n, n), 'canvas', s)
    end
    render(job)
    if job.on_tick then job.on_tick(job) end
    return done[0] ~= 0
  end)
  if not ok then return finish(job, err) end
  if err then -- done
    job.result = {}
    for k = 0, job.n - 1 do job.result[k + 1] = job.tokens[k] end
    finish(job, nil)
  end
end

local function set_param(lib, s, name, value)
  local p = ffi.new('int[1]')
  if lib.tdiff_sampler_param_from_name(name, p) ~= tdffi.OK then
    error("textdiff: unknown sampler parameter '" .. name .. "'", 0)
  end
  if type(value) == 'string' then -- strategy = 'llada', remasking = 'low_confidence', ...
    local v = ffi.new('int[1]')
    local parse = ({ strategy = lib.tdiff_strategy_from_name, remasking = lib.tdiff_remasking_from_name })[name]
    if not parse or parse(value, v) ~= tdffi.OK then
      error("textdiff: " .. name .. ": '" .. value .. "' is not a value it takes", 0)
    end
    value = v[0]
  end
  if lib.tdiff_sampler_param_is_int(p[0]) == 1 then
    check(lib, lib.tdiff_sampler_set_int(s, p[0], value), name, s)
  else
    check(lib, lib.tdiff_sampler_set_float(s, p[0], value), name, s)
  end
end

-- Starts an infill of lines [line1, line2] (1-based, inclusive; default: the
-- whole buffer) of buffer buf (0 = current), or of the bytes from col1 of line1
-- to col2 (exclusive, 0-based) of line2 when given. args may override any option and
-- add on_tick(job) / on_done(job) callbacks. Returns the job: job.result (the
-- final canvas ids), job.error, job.ticks, job.steps, job.max_tick_ms, job.busy_ms.
function M.infill(args)
  args = args or {}
  local opts = vim.tbl_deep_extend('force', M.options, args.opts or {})
  local buf = (args.buf == nil or args.buf == 0) and vim.api.nvim_get_current_buf() or args.buf
  if M.jobs[buf] then error('textdiff: an infill is already running in this buffer (:TextdiffCancel)', 0) end
  local line1 = args.line1 or 1
  local line2 = args.line2 or vim.api.nvim_buf_line_count(buf)
  local lines = vim.api.nvim_buf_get_lines(buf, line1 - 1, line2, true)
  local col1 = args.col1 or 0 -- a charwise selection: bytes [col1 of line1, col2 of line2)
  if args.col2 then lines[#lines] = lines[#lines]:sub(1, args.col2) end
  if col1 > 0 then lines[1] = lines[1]:sub(col1 + 1) end
  local text = table.concat(lines, '\n')
  local pieces = M.parse(text, opts.mask_len)

  local model_path = opts.model or os.getenv('TEXTDIFF_MODEL')
  if not model_path or model_path == '' then
    error('textdiff: no model: setup({ model = "file.gguf" }) or $TEXTDIFF_MODEL', 0)
  end
  local lib = tdffi.load(opts.lib)
  local m = model_for(lib, model_path)
  local ids, spans = canvas_of(lib, m, pieces)
  if #spans == 0 then error('textdiff: no [MASK:n] or [MASK] hole in the text', 0) end
  local n_masks = 0
  for _, sp in ipairs(spans) do n_masks = n_masks + sp.n end

  -- Byte offset in `text` -> (row, col) in the buffer (0-based), for the extmarks.
  local starts, acc = {}, 0
  for i, l in ipairs(lines) do starts[i], acc = acc, acc + #l + 1 end
  local function pos_of(byte0)
    local row = #lines
    while row > 1 and starts[row] > byte0 do row = row - 1 end
    return line1 - 1 + row - 1, byte0 - starts[row] + (row == 1 and col1 or 0)
  end
  local h = 0
  for _, p in ipairs(pieces) do
    if p.hole then
      h = h + 1
      local sr, sc = pos_of(p.from - 1)
      local er, ec = pos_of(p.to)
      spans[h].mark = vim.api.nvim_buf_set_extmark(buf, ns, sr, sc, {
        end_row = er, end_col = ec, right_gravity = false, end_right_gravity = true })
    end
  end

  local err = ffi.new('char[256]')
  local ps = ffi.new('tdiff_sampler*[1]')
  if lib.tdiff_sampler_create(m.model, nil, ps, err, 256) ~= tdffi.OK then
    vim.api.nvim_buf_clear_namespace(buf, ns, 0, -1)
    error('textdiff: sampler: ' .. ffi.string(err), 0)
  end
  local job = {
    buf = buf, lib = lib, m = m, opts = opts, sampler = ps[0], spans = spans, n = #ids,
    tokens = ffi.new('int32_t[?]', #ids), masked = ffi.new('uint8_t[?]', #ids),
    ticks = 0, steps = 0, max_tick_ms = 0, busy_ms = 0, on_tick = args.on_tick, on_done = args.on_done,
    canvas = ids,
  }
  local ok, e = pcall(function()
    set_param(lib, job.sampler, 'steps', opts.steps or n_masks)
    set_param(lib, job.sampler, 'seed', opts.seed)
    for name, value in pairs(opts.params) do set_param(lib, job.sampler, name, value) end
    local c = ffi.new('int32_t[?]', #ids, ids)
    check(lib, lib.tdiff_sampler_begin_infill(job.sampler, c, #ids), 'begin', job.sampler)
  end)
  if not ok then
    finish(job, nil)
    error(e, 0)
  end
  M.jobs[buf] = job
  job.timer = vim.loop.new_timer()
  job.timer:start(0, opts.interval_ms, vim.schedule_wrap(function() tick(job) end))
  return job
end

function M.cancel(buf)
  buf = (buf == nil or buf == 0) and vim.api.nvim_get_current_buf() or buf
  local job = M.jobs[buf]
  if job then finish(job, nil) end
end

return M
