-- textdiff/ffi.lua -- the part of include/libtextdiff.h the plugin calls, for
-- LuaJIT's FFI, and the loader of the shared library. Declarations are copied
-- from the header (enums as int: their values are fixed there and never
-- renumbered); nothing here allocates or holds state.
local ffi = require('ffi')

ffi.cdef([[
typedef int tdiff_status;
typedef struct tdiff_model tdiff_model;
typedef struct tdiff_tokenizer tdiff_tokenizer;
typedef struct tdiff_sampler tdiff_sampler;
typedef struct tdiff_host tdiff_host;

const char *tdiff_status_string(int status);
tdiff_status tdiff_model_load_file(const char *path, const tdiff_host *host, tdiff_model **out_model,
                                   char *err, size_t err_cap);
void tdiff_model_free(tdiff_model *model);
tdiff_status tdiff_model_special_id(const tdiff_model *model, int which, int32_t *out_id);

tdiff_status tdiff_tokenizer_create(const tdiff_model *model, const tdiff_host *host, tdiff_tokenizer **out,
                                    char *err, size_t err_cap);
void tdiff_tokenizer_free(tdiff_tokenizer *tok);
tdiff_status tdiff_tokenizer_tokenize(const tdiff_tokenizer *tok, const char *text, size_t len, uint32_t flags,
                                      int32_t *ids, size_t cap, size_t *n_ids);
tdiff_status tdiff_tokenizer_detokenize(const tdiff_tokenizer *tok, const int32_t *ids, size_t n, uint32_t flags,
                                        char *buf, size_t cap, size_t *out_len);

tdiff_status tdiff_sampler_create(const tdiff_model *model, const tdiff_host *host, tdiff_sampler **out,
                                  char *err, size_t err_cap);
void tdiff_sampler_free(tdiff_sampler *s);
const char *tdiff_sampler_last_error(const tdiff_sampler *s);
tdiff_status tdiff_sampler_set_int(tdiff_sampler *s, int p, int64_t value);
tdiff_status tdiff_sampler_set_float(tdiff_sampler *s, int p, double value);
tdiff_status tdiff_sampler_param_from_name(const char *name, int *out);
int tdiff_sampler_param_is_int(int p);
tdiff_status tdiff_strategy_from_name(const char *name, int *out);
tdiff_status tdiff_remasking_from_name(const char *name, int *out);
tdiff_status tdiff_sampler_begin_infill(tdiff_sampler *s, const int32_t *canvas, size_t n);
tdiff_status tdiff_sampler_step_for(tdiff_sampler *s, uint64_t budget_us, size_t *n_taken, int *done);
tdiff_status tdiff_sampler_canvas(const tdiff_sampler *s, int32_t *tokens, float *confidence, uint8_t *masked,
                                  size_t cap, size_t *n);
tdiff_status tdiff_sampler_progress(const tdiff_sampler *s, int *state, size_t *steps_taken,
                                    size_t *steps_planned);
tdiff_status tdiff_sampler_result(tdiff_sampler *s, int32_t *out, size_t cap, size_t *n_out);
tdiff_status tdiff_sampler_cancel(tdiff_sampler *s);
]])

local M = {
  OK = 0,
  E_BUFFER_TOO_SMALL = -6,
  SPECIAL_MASK = 3,              -- tdiff_special_token
  TOKENIZE_ADD_SPECIAL = 1,      -- tdiff_tokenizer_tokenize flags
}

local loaded = {}

-- The library: `path` when given, else $TEXTDIFF_LIB, else the system's
-- libtextdiff.so.0 (an installed build), else libtextdiff.so.
function M.load(path)
  path = (path and path ~= '') and path or os.getenv('TEXTDIFF_LIB')
  local key = path or ''
  if loaded[key] then return loaded[key] end
  local ok, lib
  if path then
    ok, lib = pcall(ffi.load, path)
  else
    ok, lib = pcall(ffi.load, 'libtextdiff.so.0')
    if not ok then ok, lib = pcall(ffi.load, 'textdiff') end
  end
  if not ok then
    error('textdiff: cannot load the library' .. (path and (" '" .. path .. "'") or '') ..
          ' (set lib in setup() or $TEXTDIFF_LIB): ' .. tostring(lib), 0)
  end
  loaded[key] = lib
  return lib
end

return M
