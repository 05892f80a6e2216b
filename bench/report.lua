-- wrk script: method and body from the environment, one JSON line of results at the end.
-- With BENCH_PATH (e.g. "/v1/customers/{id}/benefits?key=BENCH") each request goes to a
-- customer id drawn from BENCH_ID_MIN .. BENCH_ID_MAX, so the load spreads over the dataset.
-- The generator is never seeded: both apps get the same sequence of ids.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then wrk.body = body end

local path = os.getenv("BENCH_PATH")
if path and path ~= "" then
  local low, high = tonumber(os.getenv("BENCH_ID_MIN")), tonumber(os.getenv("BENCH_ID_MAX"))
  request = function()
    return wrk.format(nil, (path:gsub("{id}", math.random(low, high))))
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "errors": %d, "rps": %.2f, "p50_ms": %.3f, "p99_ms": %.3f}\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout,
    summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
