-- The restart test's keep-alive workloads for wrk, on the session in the SESSION env variable.
-- MODE=reads: the home page and a signed-in JSON read in turn; MODE=writes: a signed-in GraphQL
-- write (a POST with a body: a like toggled). done() prints one RESULT line for the script.
local session = "sessionid=" .. (os.getenv("SESSION") or "")
local requests = {}
local n = 0

function init(args)
  if os.getenv("MODE") == "writes" then
    requests[1] = wrk.format("POST", "/graphql", { Cookie = session, ["Content-Type"] = "application/json" },
      '{"query": "mutation { toggleLike(id: 1) { liked } }"}')
  else
    requests[1] = wrk.format("GET", "/")
    requests[2] = wrk.format("GET", "/api/profile/", { Cookie = session })
  end
end

function request()
  n = n % #requests + 1
  return requests[n]
end

-- done(): one RESULT line for the calling script, shared with the other wrk scripts here.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "wrk-result.lua")
