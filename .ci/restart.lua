-- The restart test's keep-alive workload for wrk: in turn the home page, a signed-in JSON read
-- and a signed-in GraphQL write (a like toggled), on the session in the SESSION env variable;
-- with READS_ONLY=1 the two reads alone. done() prints one RESULT line for .ci/restart-test.sh.
local session = "sessionid=" .. (os.getenv("SESSION") or "")
local requests = {}
local n = 0

function init(args)
  requests[1] = wrk.format("GET", "/")
  requests[2] = wrk.format("GET", "/api/profile/", { Cookie = session })
  if os.getenv("READS_ONLY") ~= "1" then
    requests[3] = wrk.format("POST", "/graphql", { Cookie = session, ["Content-Type"] = "application/json" },
      '{"query": "mutation { toggleLike(id: 1) { liked } }"}')
  end
end

function request()
  n = n % #requests + 1
  return requests[n]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d connect=%d read=%d write=%d timeout=%d non2xx=%d p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
