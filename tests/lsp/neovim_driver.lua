-- Drives Neovim's built-in LSP client against the CodeFusion server (see test_neovim.py).
-- Loads the setup block of docs/neovim.md, points it at this repository's server and the
-- test checkpoint, then asks for completions and runs the candidate picker command.
local out = {}
local ok, err = pcall(function()
  dofile(os.getenv('CF_SNIPPET'))
  local statuses = {}
  vim.lsp.config('codefusion', {
    cmd = { os.getenv('CF_PYTHON'), '-m', 'lsp' },
    cmd_env = { PYTHONPATH = os.getenv('CF_REPO') },
    init_options = { checkpoint = os.getenv('CF_CKPT'), k = 4, steps = 3, device = 'cpu' },
    handlers = {
      ['codefusion/status'] = function(_, status) table.insert(statuses, status.state) end,
    },
  })
  vim.cmd('edit ' .. os.getenv('CF_FILE'))
  out.filetype = vim.bo.filetype
  local client
  assert(vim.wait(60000, function()
    client = vim.lsp.get_clients({ name = 'codefusion', bufnr = 0 })[1]
    return client ~= nil and client.initialized
  end, 100), 'the server did not start')
  assert(vim.wait(180000, function()
    return vim.tbl_contains(statuses, 'ready') or vim.tbl_contains(statuses, 'error')
  end, 100), 'the model did not load')
  out.statuses = statuses

  -- completion on the blank line after the comment
  local uri = vim.uri_from_bufnr(0)
  local responses = vim.lsp.buf_request_sync(0, 'textDocument/completion',
    { textDocument = { uri = uri }, position = { line = 2, character = 0 } }, 120000)
  out.items = {}
  for _, response in pairs(responses or {}) do
    assert(not response.err, vim.inspect(response.err))
    for _, item in ipairs(response.result.items or response.result) do
      table.insert(out.items, { label = item.label, newText = item.textEdit.newText, detail = item.detail })
    end
  end

  -- the "Show N candidates…" command of the snippet, with a picker that takes the first one
  local before = vim.api.nvim_buf_line_count(0)
  vim.ui.select = function(items, _, on_choice)
    out.picked = items[1].code
    on_choice(items[1], 1)
  end
  vim.lsp.commands['codefusion.showCandidates'](
    { title = 'Show', command = 'codefusion.showCandidates',
      arguments = { { uri = uri, position = { line = 1, character = 5 } } } },
    { client_id = client.id, bufnr = vim.api.nvim_get_current_buf() })
  assert(vim.wait(120000, function() return vim.api.nvim_buf_line_count(0) > before end, 100),
    'the picked candidate was not inserted')
  out.lines = vim.api.nvim_buf_get_lines(0, 0, -1, false)
end)
out.ok = ok
out.err = err and tostring(err) or nil
vim.fn.writefile({ vim.json.encode(out) }, os.getenv('CF_OUT'))
vim.cmd('qa!')
