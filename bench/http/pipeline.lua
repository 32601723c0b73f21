-- TechEmpower's pipelining script for wrk: each write carries N requests
-- (the first argument after --, default 16).
init = function(args)
  local r = {}
  local depth = tonumber(args[1]) or 16
  for i = 1, depth do
    r[i] = wrk.format()
  end
  req = table.concat(r)
end

request = function()
  return req
end
