-- Sum counter hashes server-side so a scrape moves one small reply per
-- partition instead of every bucket (all keys share one {pN} slot).
--
-- ARGV[1] number of groups, ARGV[2..] the number of keys in each group;
-- KEYS are the groups' keys in order. Returns one flat {field, sum, ...}
-- array per group.
local groups = tonumber(ARGV[1])
local out = {}
local k = 1
for g = 1, groups do
  local sums = {}
  for _ = 1, tonumber(ARGV[1 + g]) do
    local flat = redis.call('HGETALL', KEYS[k])
    for j = 1, #flat, 2 do
      sums[flat[j]] = (sums[flat[j]] or 0) + tonumber(flat[j + 1])
    end
    k = k + 1
  end
  local reply = {}
  for name, value in pairs(sums) do
    reply[#reply + 1] = name
    reply[#reply + 1] = tostring(value)
  end
  out[g] = reply
end
return out
