-- :TextdiffInfill fills the [MASK:n] / [MASK] holes of the buffer, of the lines
-- of a range, or of a visual selection; :TextdiffCancel stops it. Options:
-- require('textdiff').setup({...}) (lua/textdiff/init.lua).
if vim.g.loaded_textdiff then return end
vim.g.loaded_textdiff = true

-- After a charwise visual selection (v), :'<,'>TextdiffInfill fills only the
-- selected characters' holes; after V, <C-v> or any other range, whole lines.
local function selection(c)
  local a = { line1 = c.line1, line2 = c.line2 }
  if c.range == 2 and vim.fn.visualmode() == 'v' then
    local s, e = vim.api.nvim_buf_get_mark(0, '<'), vim.api.nvim_buf_get_mark(0, '>')
    if s[1] == c.line1 and e[1] == c.line2 then
      local last = vim.api.nvim_buf_get_lines(0, e[1] - 1, e[1], true)[1]
      local ch = vim.fn.strcharpart(last:sub(e[2] + 1), 0, 1) -- the last selected character, whole
      a.col1, a.col2 = s[2], math.min(e[2] + math.max(#ch, 1), #last)
    end
  end
  return a
end

vim.api.nvim_create_user_command('TextdiffInfill', function(c)
  local ok, err = pcall(require('textdiff').infill, selection(c))
  if not ok then vim.notify(tostring(err), vim.log.levels.ERROR) end
end, { range = '%', desc = 'fill [MASK:n] holes with libtextdiff' })

vim.api.nvim_create_user_command('TextdiffCancel', function()
  require('textdiff').cancel(0)
end, { desc = 'stop the running textdiff infill' })
