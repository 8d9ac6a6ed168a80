-- wrk script of the TCP passthrough scenario: every request is a POST of N bytes (the script's
-- first argument, after `--`) to the upstream's /echo, which sends them back; the request is
-- built once at start (no Lua per request). Prints the percentiles of percentiles.lua too.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "percentiles.lua")

function init(args)
  wrk.method = "POST"
  wrk.body = string.rep("x", tonumber(args[1]))
  wrk.headers["Content-Type"] = "application/octet-stream"
end
