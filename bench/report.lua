-- wrk script: method and body from the environment, one JSON line of results at the end
-- (errors: all of wrk's; among them non2xx, answers other than 2xx/3xx, and timeouts).
-- With BENCH_PATH (e.g. "/v1/customers/{id}/benefits?key=BENCH") each request goes to a
-- number drawn from BENCH_ID_MIN .. BENCH_ID_MAX, so the load spreads over the dataset.
-- In BENCH_BODY, "{seq}" is the request's sequence number and each "{pair}" becomes
-- BENCH_PAIR filled with a number of its own ("{id}", and "{id12}" zero-padded to 12 digits).
-- The generator is never seeded: both apps get the same sequence of numbers.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
local path = os.getenv("BENCH_PATH") or ""
local pair = os.getenv("BENCH_PAIR") or ""
local low, high = tonumber(os.getenv("BENCH_ID_MIN")), tonumber(os.getenv("BENCH_ID_MAX"))

local function fill(template)
  local id = math.random(low, high)
  return (template:gsub("{id12}", string.format("%012d", id)):gsub("{id}", id))
end

local varies = path ~= "" or body:find("{seq}", 1, true) or body:find("{pair}", 1, true)
if varies then
  local seq = 0
  request = function()
    seq = seq + 1
    local p = path ~= "" and fill(path) or nil
    local b = body:gsub("{seq}", seq):gsub("{pair}", function() return fill(pair) end)
    return wrk.format(nil, p, nil, b ~= "" and b or nil)
  end
elseif body ~= "" then
  wrk.body = body
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "errors": %d, "non2xx": %d, "timeouts": %d, "rps": %.2f, ' ..
    '"p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, e.status, e.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
