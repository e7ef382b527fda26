-- The agent label's cap for one tenant (kpi-catalog section 9): the roster's active
-- agents first (by agent_id), then agents in the order first seen; an agent without
-- events for the idle time frees its slot.
-- KEYS[1] the tenant's active roster (sorted set, score 0: rank = agent_id order)
-- KEYS[2] first seen (sorted set, score = arrival sequence)
-- KEYS[3] last seen (sorted set, score = worker clock seconds)
-- ARGV[1] cap, ARGV[2] now (s), ARGV[3] idle cutoff (s), ARGV[4..] candidate agent ids.
-- Returns, per candidate, 1 when the agent holds a slot and 0 otherwise.
local cap = tonumber(ARGV[1])
local idle = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[3])
for _, agent in ipairs(idle) do
  redis.call('ZREM', KEYS[2], agent)
  redis.call('ZREM', KEYS[3], agent)
end
local reserved = math.min(cap, redis.call('ZCARD', KEYS[1]))
local out = {}
for i = 4, #ARGV do
  local agent = ARGV[i]
  local rank = redis.call('ZRANK', KEYS[1], agent)
  if rank then
    out[#out + 1] = (rank < cap) and 1 or 0
  else
    redis.call('ZADD', KEYS[3], ARGV[2], agent)
    if not redis.call('ZSCORE', KEYS[2], agent) then
      local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
      local seq = 1
      if #last > 0 then seq = tonumber(last[2]) + 1 end
      redis.call('ZADD', KEYS[2], seq, agent)
    end
    out[#out + 1] = (redis.call('ZRANK', KEYS[2], agent) < cap - reserved) and 1 or 0
  end
end
return out
