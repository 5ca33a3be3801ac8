-- Removes expired socket leases (of instances that died without a goodbye) and lapsed
-- heartbeats; users left with neither go offline, announced here. Every instance runs it;
-- being one atomic script, whichever runs first acts and the others find nothing.
-- KEYS[1] socket leases   <prefix>presence:{s}:leases       zset member -> lease expiry (ms)
-- KEYS[2] connections     <prefix>presence:{s}:connections  hash userId -> live sockets
-- KEYS[3] heartbeats      <prefix>presence:{s}:heartbeats   zset userId -> heartbeat expiry (ms)
-- KEYS[4] online index    <prefix>presence:{s}:online       zset userId, score 0
-- KEYS[5] status          <prefix>presence:{s}:status       hash userId -> AWAY | BUSY
-- KEYS[6] last seen       <prefix>presence:{s}:lastSeen     hash userId -> ms
-- ARGV[1] the shard's channel of everyone's presence events
-- ARGV[2] channel prefix of one user's presence events (the user id is appended)
-- ARGV[3] most leases and most heartbeats removed per run (keeps each run short)
-- Returns { users who went offline, 1 if more expired entries may remain else 0 }.
-- #include announce.lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit = tonumber(ARGV[3])

-- lastSeen is when the user's last lease ran out: the last moment they were known online.
local function goOffline(user, seenAt)
  if redis.call('ZREM', KEYS[4], user) == 0 then return 0 end
  local previous = redis.call('HGET', KEYS[5], user) or 'ONLINE'
  redis.call('HDEL', KEYS[5], user)
  redis.call('HSET', KEYS[6], user, seenAt)
  announce(ARGV[1], ARGV[2], user, 'OFFLINE', previous, now, redis.call('ZCARD', KEYS[4]))
  return 1
end

local offline = 0
local leases = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
for i = 1, #leases, 2 do
  local member, expiry = leases[i], tonumber(leases[i + 1])
  redis.call('ZREM', KEYS[1], member)
  local user = string.match(member, '^[^|]*|[^|]*|(.*)$')
  if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
    redis.call('HDEL', KEYS[2], user)
    local heartbeat = redis.call('ZSCORE', KEYS[3], user)
    if not heartbeat or tonumber(heartbeat) <= now then
      if heartbeat then
        redis.call('ZREM', KEYS[3], user)
        expiry = math.max(expiry, tonumber(heartbeat))
      end
      offline = offline + goOffline(user, expiry)
    end
  end
end

local heartbeats = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit)
for i = 1, #heartbeats, 2 do
  local user = heartbeats[i]
  redis.call('ZREM', KEYS[3], user)
  if not redis.call('HGET', KEYS[2], user) then
    offline = offline + goOffline(user, tonumber(heartbeats[i + 1]))
  end
end

local more = (#leases / 2 == limit or #heartbeats / 2 == limit) and 1 or 0
return { offline, more }
