-- The read phase of a batch in one call: everything the plan needs from one
-- partition's slot, returned as one JSON document (see store.writer._read).
--
-- KEYS[1] partition write version   KEYS[2] partition offsets hash (stream -> offset)
-- KEYS[3..] every other key read; ARGV[1] names them by their index in KEYS:
-- ARGV[1] JSON {"seen": [[key, [ids]]...], "hashes": [key...],
--               "parked": [zset key, [[message id, list key]...]],
--               "park_len": [zset key, [[index in hashes, list key, message id]...]]}
-- park_len: the parked index's size and, for those messages that have no state,
-- how many events they have parked (store.message_effects bounds both).
-- All KEYS carry the same {pN} hash tag (store.keys builds them so).
local want = cjson.decode(ARGV[1])
local out = {
  ver = redis.call('GET', KEYS[1]) or '0',
  off = redis.call('HGETALL', KEYS[2]),
  seen = {},
  hashes = {},
  parked = {},
}
for i, pair in ipairs(want.seen) do
  local key, ids, flags = KEYS[pair[1]], pair[2], {}
  for start = 1, #ids, 1000 do
    local hits = redis.call('SMISMEMBER', key, unpack(ids, start, math.min(start + 999, #ids)))
    for _, hit in ipairs(hits) do
      flags[#flags + 1] = hit
    end
  end
  out.seen[i] = flags
end
for i, k in ipairs(want.hashes) do
  local flat = redis.call('HGETALL', KEYS[k])
  if #flat == 0 then
    out.hashes[i] = 0
  else
    out.hashes[i] = flat
  end
end
if want.parked then
  local zkey = KEYS[want.parked[1]]
  for _, pair in ipairs(want.parked[2]) do
    if redis.call('ZSCORE', zkey, pair[1]) then
      out.parked[#out.parked + 1] = {pair[1], redis.call('LRANGE', KEYS[pair[2]], 0, -1)}
    end
  end
end
if want.park_len then
  out.parked_count = redis.call('ZCARD', KEYS[want.park_len[1]])
  out.park_len = {}
  for _, entry in ipairs(want.park_len[2]) do
    if out.hashes[entry[1]] == 0 then
      local n = redis.call('LLEN', KEYS[entry[2]])
      if n > 0 then
        out.park_len[#out.park_len + 1] = {entry[3], n}
      end
    end
  end
end
return cjson.encode(out)
