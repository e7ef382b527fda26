-- The read phase of a batch in one call: everything the plan needs from one
-- partition's slot, returned as one JSON document (see store.writer._read).
--
-- KEYS[1] partition write version   KEYS[2] partition offsets hash (stream -> offset)
-- ARGV[1] JSON {"seen": [[key, [ids]]...], "hashes": [key...],
--               "parked": [zset key, [[message id, list key]...]],
--               "park_len": [zset key, message key prefix, park key prefix,
--                            [index in hashes...]]}
-- park_len: the parked index's size and, for those messages that have no state,
-- how many events they have parked (store.message_effects bounds both).
-- Keys in ARGV carry the same {pN} hash tag as KEYS (store.keys builds them).
local want = cjson.decode(ARGV[1])
local out = {
  ver = redis.call('GET', KEYS[1]) or '0',
  off = redis.call('HGETALL', KEYS[2]),
  seen = {},
  hashes = {},
  parked = {},
}
for i, pair in ipairs(want.seen) do
  local key, ids, flags = pair[1], pair[2], {}
  for start = 1, #ids, 1000 do
    local hits = redis.call('SMISMEMBER', key, unpack(ids, start, math.min(start + 999, #ids)))
    for _, hit in ipairs(hits) do
      flags[#flags + 1] = hit
    end
  end
  out.seen[i] = flags
end
for i, key in ipairs(want.hashes) do
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then
    out.hashes[i] = 0
  else
    out.hashes[i] = flat
  end
end
if want.parked then
  local zkey = want.parked[1]
  for _, pair in ipairs(want.parked[2]) do
    if redis.call('ZSCORE', zkey, pair[1]) then
      out.parked[#out.parked + 1] = {pair[1], redis.call('LRANGE', pair[2], 0, -1)}
    end
  end
end
if want.park_len then
  local zkey, mprefix, pprefix = want.park_len[1], want.park_len[2], want.park_len[3]
  out.parked_count = redis.call('ZCARD', zkey)
  out.park_len = {}
  for _, i in ipairs(want.park_len[4]) do
    if out.hashes[i] == 0 then
      local mid = string.sub(want.hashes[i], #mprefix + 1)
      local n = redis.call('LLEN', pprefix .. mid)
      if n > 0 then
        out.park_len[#out.park_len + 1] = {mid, n}
      end
    end
  end
end
return cjson.encode(out)
