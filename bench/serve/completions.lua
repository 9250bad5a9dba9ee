-- completions.lua -- wrk's script for POST /v1/completions of `textdiff serve` (docs/server.md, "Measured").
--   wrk -t1 -c8 -d30s --timeout 120s -s bench/serve/completions.lua http://127.0.0.1:8080/v1/completions
-- Every request asks for the same work with its own seed; the last line counts non-200 answers
-- (wrk's "errors") and gives requests/s and p50/p99 latency. The work can be changed from the
-- environment: WRK_PROMPT (default "Emma Woodhouse,"; plain ASCII without quotes), or WRK_PROMPT_IDS
-- (token ids "1,2,3" for a model without a tokenizer), WRK_TOKENS (max_tokens, default 32), WRK_STEPS
-- (default 32), WRK_TEMPERATURE (default 0.7).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
local n = 0
local prompt = '"' .. (os.getenv("WRK_PROMPT") or "Emma Woodhouse,") .. '"'
if os.getenv("WRK_PROMPT_IDS") then
  prompt = "[" .. os.getenv("WRK_PROMPT_IDS") .. "]"
end
local tokens = tonumber(os.getenv("WRK_TOKENS") or "32")
local steps = tonumber(os.getenv("WRK_STEPS") or "32")
local temperature = tonumber(os.getenv("WRK_TEMPERATURE") or "0.7")

request = function()
  n = n + 1
  return wrk.format(nil, nil, nil, string.format(
    '{"prompt": %s, "max_tokens": %d, "steps": %d, "temperature": %g, "seed": %d}',
    prompt, tokens, steps, temperature, n))
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk: %d requests, %d non-200, %d socket errors, %.2f req/s, p50 %.3f s, p99 %.3f s\n",
    summary.requests, e.status, e.connect + e.read + e.write + e.timeout,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1e6, latency:percentile(99) / 1e6))
end
