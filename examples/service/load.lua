-- wrk script for the example service: over ids 0..99, four reads for
-- every write (PUT of a small JSON object). load.sh stores every id first,
-- so every answer is a 200.
local n = 0
request = function()
  n = n + 1
  local id = n % 100
  if n % 5 == 0 then
    return wrk.format("PUT", "/items/" .. id, {["Content-Type"] = "application/json"},
                      '{"title":"item ' .. id .. '","n":' .. n .. '}')
  end
  return wrk.format("GET", "/items/" .. id)
end
