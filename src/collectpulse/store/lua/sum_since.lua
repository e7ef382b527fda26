-- Landing silence: sum one hash field per campaign over its own buckets, server-side,
-- so a scrape moves one number per campaign and partition instead of every bucket's
-- value (all keys share one {pN} slot).
--
-- KEYS are the buckets any campaign needs. ARGV, per campaign: its field, its number
-- of runs r, then r pairs (first, last) of 1-based KEYS indexes, inclusive. Returns
-- one integer sum per campaign, in ARGV order.
local wanted = {}
local sums = {}
local i, campaign = 1, 0
while i <= #ARGV do
  campaign = campaign + 1
  local field = ARGV[i]
  local runs = tonumber(ARGV[i + 1])
  i = i + 2
  sums[campaign] = 0
  for _ = 1, runs do
    for k = tonumber(ARGV[i]), tonumber(ARGV[i + 1]) do
      local w = wanted[k]
      if not w then
        w = {fields = {}, owners = {}}
        wanted[k] = w
      end
      w.fields[#w.fields + 1] = field
      w.owners[#w.owners + 1] = campaign
    end
    i = i + 2
  end
end
-- HMGET in slices: unpack() of thousands of fields would overflow Lua's C stack
local SLICE = 1000
for k, w in pairs(wanted) do
  for from = 1, #w.fields, SLICE do
    local to = math.min(from + SLICE - 1, #w.fields)
    local values = redis.call('HMGET', KEYS[k], unpack(w.fields, from, to))
    for j = from, to do
      local value = values[j - from + 1]
      if value then
        sums[w.owners[j]] = sums[w.owners[j]] + tonumber(value)
      end
    end
  end
end
return sums
