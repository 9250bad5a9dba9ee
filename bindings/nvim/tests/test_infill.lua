-- test_infill.lua -- the Neovim plugin, headless, end to end (meson suite `embed`;
-- run by run_nvim_test.sh with $TEXTDIFF_LIB, $TEXTDIFF_MODEL, $TEXTDIFF_CLI set).
--
-- Specification checked here:
--  1. the hole syntax: [MASK:n] is n tokens, [MASK] is mask_len, malformed holes are refused;
--  2. :2,3TextdiffInfill fills every hole of lines 2-3 and changes nothing else (the lines
--     outside the range, the text around the holes, a hole outside the range);
--  3. the filled canvas has exactly the tokens of `textdiff infill --json` on the same text
--     with the same seed and steps (the plugin builds the canvas as the tool does);
--  4. the editor stays responsive: the refinement is spread over several timer ticks, a
--     heartbeat timer keeps firing between them (longest gap bounded), an edit made in
--     the middle of the infill lands and the holes follow it;
--  5. the buffer shows the refinement: some tick shows a hole partly filled;
--  6. sampler parameters by name (strategy by its name), unknown ones refused cleanly;
--  7. after a charwise visual selection only the selected holes are filled, and one undo
--     takes the whole infill (all its ticks) back (headless, no key arrives between ticks:
--     the undojoin that keeps a typing user's infill one step is not exercised here).
local failures = 0
local function fail(msg) failures = failures + 1; io.stderr:write('FAIL: ' .. msg .. '\n') end
local function expect(cond, msg) if not cond then fail(msg) end end
local function say(msg) io.stdout:write(msg .. '\n') end

local td = require('textdiff')

-- 1. hole syntax
local p = td.parse('a [MASK] b [MASK:12]c', 4)
expect(#p == 5 and p[2].hole == 4 and p[4].hole == 12 and p[3].text == ' b ' and p[1].text == 'a ' and p[5].text == 'c',
       'parse: [MASK] = mask_len tokens, [MASK:12] = 12 tokens, text kept')
for _, bad in ipairs({ '[MASK:0]', 'x [MASK:] y', '[MASK:3', '[MASK:abc]', '[MASK:1234567890]' }) do
  expect(not pcall(td.parse, bad, 4), 'parse refuses ' .. bad)
end
expect(#td.parse('no holes [MASKED] here', 4) == 1, '"[MASKED]" is text, not a hole')

-- 2-5. an infill of lines 2-3
local model, cli = os.getenv('TEXTDIFF_MODEL'), os.getenv('TEXTDIFF_CLI')
local steps, seed = 6, 7
td.setup({ model = model, steps = steps, seed = seed, budget_ms = 2, interval_ms = 5 })
vim.cmd('runtime plugin/textdiff.lua')
local lines = {
  'Header line stays.',
  'It is a truth [MASK:4] acknowledged, that a [MASK:1] man',
  'must be in want of a [MASK:1].',
  'Footer [MASK:2] outside the range.',
}
vim.api.nvim_buf_set_lines(0, 0, -1, true, lines)

local beats, max_gap, last_beat, typed = 0, 0, nil, false
local partial_seen = false
local hb = vim.loop.new_timer()
hb:start(0, 2, vim.schedule_wrap(function()
  local now = vim.loop.hrtime()
  if last_beat then max_gap = math.max(max_gap, (now - last_beat) / 1e6) end
  last_beat, beats = now, beats + 1
  if beats == 3 and not typed and td.jobs[vim.api.nvim_get_current_buf()] then
    vim.api.nvim_buf_set_lines(0, 0, 0, true, { 'typed during the infill' }) -- a user's edit
    typed = true
  end
end))

-- Wait for the heartbeat to run, then start the infill through the command.
vim.wait(1000, function() return beats >= 2 end, 1)
local beats0, gap0 = beats, max_gap
max_gap = 0
vim.cmd('2,3TextdiffInfill')
local job = td.jobs[vim.api.nvim_get_current_buf()]
expect(job ~= nil, ':TextdiffInfill started a job')
if not job then vim.cmd('cquit 1') end
job.on_tick = function()
  local l = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, true), '\n')
  local hole = l:match('truth (.-) acknowledged')
  if hole and hole:find('_', 1, true) and hole:find('[^_ ]') then partial_seen = true end
end
local done = vim.wait(200000, function() return job.finished end, 1) -- meson's timeout comes first
local beats_during = beats - beats0
hb:stop()
hb:close()
expect(done, 'the infill finished')
expect(job.error == nil, 'no error: ' .. tostring(job.error))
say(string.format('infill: %d steps in %d ticks, busy %.1f ms, longest tick %.1f ms; heartbeat: %d beats during ' ..
                  'the infill, longest gap %.1f ms (%.1f before it)', job.steps, job.ticks, job.busy_ms,
                  job.max_tick_ms, beats_during, max_gap, gap0))
expect(job.steps == steps, 'ran ' .. steps .. ' steps')
expect(job.ticks >= 3, 'the refinement was spread over several ticks (' .. job.ticks .. ')')
expect(beats_during >= job.ticks - 1, 'the heartbeat fired between the ticks')
-- The longest gap is one tick (budget + at most one step) plus the loop's latency (250 ms
-- of slack: 83 ms were seen at load average 12 on 2 cores); a blocking infill holds the
-- loop for the whole refinement, which the tick counts above catch on any machine.
expect(max_gap < job.max_tick_ms + 250, string.format('longest heartbeat gap %.1f ms < longest tick %.1f + 250 ms',
                                                      max_gap, job.max_tick_ms))
expect(job.max_tick_ms < job.busy_ms, 'no tick ran the whole refinement')
expect(partial_seen, 'a tick showed a hole partly filled')
expect(typed, 'an edit landed during the infill')

local now = vim.api.nvim_buf_get_lines(0, 0, -1, true)
expect(#now == 5, 'five lines (the typed one + four): ' .. #now)
expect(now[1] == 'typed during the infill', 'the typed line is there')
expect(now[2] == lines[1], 'line above the range unchanged')
expect(now[5] == lines[4], 'line below the range unchanged (its hole untouched)')
local filled = now[3] .. '\n' .. now[4]
expect(not filled:find('[MASK', 1, true), 'no hole left in the range')
local a = filled:match('^It is a truth (.*) acknowledged, that a (.*) man\nmust be in want of a (.*)%.$')
expect(a ~= nil, 'the text around the holes is unchanged: ' .. filled)

-- 3. the tokens of `textdiff infill` with the same text, seed and steps
local text = lines[2] .. '\n' .. lines[3]
local out = vim.fn.system({ cli, 'infill', model, text, '--seed', tostring(seed), '--steps', tostring(steps),
                            '--json' })
expect(vim.v.shell_error == 0, 'textdiff infill ran: ' .. out)
local ok, ref = pcall(vim.fn.json_decode, out)
expect(ok and type(ref) == 'table', 'textdiff infill --json parsed')
if ok and type(ref) == 'table' then
  expect(#ref.tokens == #job.result, string.format('canvas length %d == tool %d', #job.result, #ref.tokens))
  local same = #ref.tokens == #job.result
  for k = 1, math.min(#ref.tokens, #job.result) do same = same and ref.tokens[k] == job.result[k] end
  expect(same, 'the canvas tokens equal the tool\'s: ' .. vim.inspect(job.result) .. ' vs ' .. vim.inspect(ref.tokens))
  expect(ref.text == filled, 'the buffer text equals the tool\'s text: ' .. vim.inspect(ref.text))
end
say('filled: ' .. filled:gsub('\n', ' / '))

-- 6. parameters by name, strategy by its name; a bad one is refused before anything changes
vim.api.nvim_buf_set_lines(0, 0, -1, true, { 'A [MASK] B' })
local j2 = td.infill({ opts = { budget_ms = 1000, params = { strategy = 'threshold', temperature = 0.5 } } })
expect(vim.wait(200000, function() return j2.finished end, 1) and j2.error == nil, 'strategy by name ran')
local l2 = vim.api.nvim_buf_get_lines(0, 0, -1, true)[1]
expect(l2:sub(1, 2) == 'A ' and l2:sub(-2) == ' B' and not l2:find('[MASK', 1, true), '[MASK] filled: ' .. l2)
vim.api.nvim_buf_set_lines(0, 0, -1, true, { 'A [MASK] B' })
expect(not pcall(td.infill, { opts = { params = { strategy = 'nonsense' } } }), 'an unknown strategy is refused')
expect(not pcall(td.infill, { opts = { params = { no_such_param = 1 } } }), 'an unknown parameter is refused')
expect(vim.api.nvim_buf_get_lines(0, 0, -1, true)[1] == 'A [MASK] B', 'a refused infill leaves the buffer as it was')
expect(next(td.jobs) == nil, 'no job left running')

-- 7. a charwise visual selection: only the selected holes are filled
local sel_line = 'keep [MASK:1] | the [MASK:2] end | keep [MASK:1]'
vim.api.nvim_buf_set_lines(0, 0, -1, true, { sel_line })
vim.cmd('let &g:undolevels = &g:undolevels') -- close the undo block, as a typed key would
vim.cmd('normal! 0f|wvf|\27') -- select "the [MASK:2] end |"
vim.cmd("'<,'>TextdiffInfill")
local j3 = td.jobs[vim.api.nvim_get_current_buf()]
expect(j3 ~= nil and #j3.spans == 1, 'the selection holds one hole')
if j3 then expect(vim.wait(200000, function() return j3.finished end, 1) and j3.error == nil, 'selection infill ran') end
local l3 = vim.api.nvim_buf_get_lines(0, 0, -1, true)[1]
local mid = l3:match('^keep %[MASK:1%] | the (.*) end | keep %[MASK:1%]$')
expect(mid ~= nil and not mid:find('[MASK', 1, true), 'only the selected hole was filled: ' .. l3)
vim.cmd('undo')
expect(vim.api.nvim_buf_get_lines(0, 0, -1, true)[1] == sel_line, 'one undo takes the whole infill back')

if failures > 0 then
  io.stderr:write(failures .. ' check(s) failed\n')
  vim.cmd('cquit 1')
end
say('nvim plugin: all checks passed')
vim.cmd('qall!')
