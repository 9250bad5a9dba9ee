-- :TextdiffInfill fills the [MASK:n] / [MASK] holes of the buffer (or of the
-- lines of a range / visual selection); :TextdiffCancel stops it. Options:
-- require('textdiff').setup({...}) (lua/textdiff/init.lua).
if vim.g.loaded_textdiff then return end
vim.g.loaded_textdiff = true

vim.api.nvim_create_user_command('TextdiffInfill', function(c)
  local ok, err = pcall(require('textdiff').infill, { line1 = c.line1, line2 = c.line2 })
  if not ok then vim.notify(tostring(err), vim.log.levels.ERROR) end
end, { range = '%', desc = 'fill [MASK:n] holes with libtextdiff' })

vim.api.nvim_create_user_command('TextdiffCancel', function()
  require('textdiff').cancel(0)
end, { desc = 'stop the running textdiff infill' })
