-- Apply one partition's planned effects atomically, guarded by the partition's
-- write version and its streams' applied offsets (kpi-catalog section 6).
--
-- KEYS[1]  partition write version      KEYS[2]  partition offsets hash
-- ARGV[1]  version the plan was computed against ('0' when none yet)
-- ARGV[2]  JSON [[stream, last offset], ...]: each stream (field of the offsets
--          hash) whose records the plan covers; '[]' for writes that move no offset
-- KEYS[3..] every key the ops touch
-- ARGV[3]  the ops as JSON: [[command, index of its key in KEYS, args...], ...]
--
-- All KEYS carry the same {pN} hash tag (store.keys builds them so), so the
-- script only touches the slot it was routed to; the ops' arguments travel as
-- one JSON string because packing one protocol argument per value cost more
-- client CPU than all of the planning.
--
-- Returns {1, new_version} when applied, {0, current_version} when another
-- writer got there first (the caller re-reads and re-plans), and
-- {-1, stream} when a stream's records are not past its applied offset.
local current = redis.call('GET', KEYS[1]) or '0'
if current ~= ARGV[1] then
  return {0, current}
end
local streams = cjson.decode(ARGV[2])
for _, pair in ipairs(streams) do
  local applied = tonumber(redis.call('HGET', KEYS[2], pair[1]) or '-1')
  if tonumber(pair[2]) <= applied then
    return {-1, pair[1]}
  end
end
local allowed = {
  HSET = true, SADD = true, EXPIRE = true, PFADD = true, RPUSH = true, ZADD = true,
  ZREM = true, DEL = true, HDEL = true, ZREMRANGEBYSCORE = true,
}
local ops = cjson.decode(ARGV[3])
for _, o in ipairs(ops) do
  local name, key = o[1], KEYS[o[2]]
  if name == 'HINCRBYS' then
    for j = 3, #o, 2 do
      redis.call('HINCRBY', key, o[j], o[j + 1])
    end
  elseif name == 'HINCRBYS_NET' then
    -- aggregates of state that comes and goes: a field summing to 0 is removed
    for j = 3, #o, 2 do
      if redis.call('HINCRBY', key, o[j], o[j + 1]) == 0 then
        redis.call('HDEL', key, o[j])
      end
    end
  elseif name == 'ZADDNX' then
    redis.call('ZADD', key, 'NX', unpack(o, 3))
  elseif name == 'HMAX' or name == 'HMIN' then
    local old = redis.call('HGET', key, o[3])
    local new = tonumber(o[4])
    if (not old) or (name == 'HMAX' and new > tonumber(old)) or (name == 'HMIN' and new < tonumber(old)) then
      redis.call('HSET', key, o[3], o[4])
    end
  elseif allowed[name] then
    redis.call(name, key, unpack(o, 3))
  else
    return redis.error_reply('collectpulse write.lua: op not allowed: ' .. tostring(name))
  end
end
for _, pair in ipairs(streams) do
  redis.call('HSET', KEYS[2], pair[1], pair[2])
end
return {1, redis.call('INCR', KEYS[1])}
