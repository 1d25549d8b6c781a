-- The deploy test's reader for wrk: the home page and the post list in turn, anonymous, through
-- Caddy.
local paths = { "/", "/posts/" }
local n = 0

function request()
  n = n % #paths + 1
  return wrk.format("GET", paths[n])
end

-- done(): one RESULT line for the calling script, shared with the other wrk scripts here.
dofile(debug.getinfo(1, "S").source:match("^@(.*/)") .. "wrk-result.lua")
