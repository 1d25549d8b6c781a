-- The RESULT line the test scripts read from wrk: request count, every kind of error, non-2xx
-- answers and the latency percentiles (wrk calls done() at the end, and on SIGINT too).
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d connect=%d read=%d write=%d timeout=%d non2xx=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
