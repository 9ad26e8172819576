-- wrk script of the HTTP server benchmarks (bench/http.sh): GET /users/{id}
-- with the id going 1..1000 in turn on each connection's thread (the requests
-- are formatted once, so wrk spends a table lookup per request), and at the
-- end one JSON line with the figures bench/report.py reads.

local requests = {}
local n = 0

function init(args)
  for i = 1, 1000 do
    requests[i] = wrk.format("GET", "/users/" .. i)
  end
end

function request()
  n = n % 1000 + 1
  return requests[n]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.6f, "requests_per_second": %.1f, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %.1f, "errors": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50), latency:percentile(99), latency.mean,
    e.connect + e.read + e.write + e.status + e.timeout))
end
