-- Label cardinality cap: admit values into the label's set until it holds
-- ARGV[1] values; later new values are reported as __other__.
-- KEYS[1] the label's set; ARGV[2..] candidate values.
-- Returns, per candidate, 1 when admitted (now or before) and 0 otherwise.
local cap = tonumber(ARGV[1])
local out = {}
for i = 2, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then
    out[#out + 1] = 1
  elseif redis.call('SCARD', KEYS[1]) < cap then
    redis.call('SADD', KEYS[1], ARGV[i])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
