-- The deploy test's reader for wrk: the home page and the post list in turn, anonymous, through
-- Caddy. done() prints one RESULT line for the script (wrk ends on SIGINT and still calls it).
local paths = { "/", "/posts/" }
local n = 0

function request()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d connect=%d read=%d write=%d timeout=%d non2xx=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
