-- Apply one batch's planned effects atomically, guarded by the partition's
-- write version and applied offset (kpi-catalog section 6).
--
-- KEYS[1]  partition write version      KEYS[2]  partition offsets hash
-- KEYS[3..] keys the ops refer to by index (all in the same {pN} slot)
-- ARGV[1]  version the plan was computed against ('0' when none yet)
-- ARGV[2]  topic (field of the offsets hash); '' for writes that move no offset
-- ARGV[3]  last offset of the batch
-- ARGV[4..] ops, each: name, key index, argument count, arguments...
--
-- Returns {1, new_version} when applied, {0, current_version} when another
-- writer got there first (the caller re-reads and re-plans), and
-- {-1, applied_offset} when the batch is not past the applied offset.
local current = redis.call('GET', KEYS[1]) or '0'
if current ~= ARGV[1] then
  return {0, current}
end
if ARGV[2] ~= '' then
  local applied = tonumber(redis.call('HGET', KEYS[2], ARGV[2]) or '-1')
  if tonumber(ARGV[3]) <= applied then
    return {-1, tostring(applied)}
  end
end
local allowed = {
  HINCRBY = true, HSET = true, SADD = true, EXPIRE = true, PFADD = true,
  RPUSH = true, ZADD = true, ZREM = true, DEL = true, HDEL = true, ZREMRANGEBYSCORE = true,
}
local i = 4
local n_argv = #ARGV
while i <= n_argv do
  local op = ARGV[i]
  local key = KEYS[tonumber(ARGV[i + 1])]
  local argc = tonumber(ARGV[i + 2])
  if op == 'HMAX' then
    -- keep the larger number (last event time per topic)
    local old = tonumber(redis.call('HGET', key, ARGV[i + 3]) or '-1')
    if tonumber(ARGV[i + 4]) > old then
      redis.call('HSET', key, ARGV[i + 3], ARGV[i + 4])
    end
  elseif op == 'HMIN' then
    -- keep the smaller number (first delivery time per campaign)
    local old = redis.call('HGET', key, ARGV[i + 3])
    if (not old) or tonumber(ARGV[i + 4]) < tonumber(old) then
      redis.call('HSET', key, ARGV[i + 3], ARGV[i + 4])
    end
  elseif allowed[op] then
    redis.call(op, key, unpack(ARGV, i + 3, i + 2 + argc))
  else
    return redis.error_reply('collectpulse write.lua: op not allowed: ' .. tostring(op))
  end
  i = i + 3 + argc
end
if ARGV[2] ~= '' then
  redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
end
return {1, redis.call('INCR', KEYS[1])}
