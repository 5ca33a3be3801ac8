-- Removes live sockets (one that closed, or all of an instance that stops). A user whose last
-- socket this was, and whose heartbeat has lapsed, goes offline; that is announced here.
-- Leases already removed (by a sweep) are skipped, so nothing is counted or announced twice.
-- KEYS[1] socket leases   <prefix>presence:{s}:leases       zset member -> lease expiry (ms)
-- KEYS[2] connections     <prefix>presence:{s}:connections  hash userId -> live sockets
-- KEYS[3] heartbeats      <prefix>presence:{s}:heartbeats   zset userId -> heartbeat expiry (ms)
-- KEYS[4] online index    <prefix>presence:{s}:online       zset userId, score 0
-- KEYS[5] status          <prefix>presence:{s}:status       hash userId -> AWAY | BUSY
-- KEYS[6] last seen       <prefix>presence:{s}:lastSeen     hash userId -> ms
-- ARGV[1] the shard's channel of everyone's presence events
-- ARGV[2] channel prefix of one user's presence events (the user id is appended)
-- ARGV[3..] lease members "<instanceId>|<connectionId>|<userId>"
-- Returns the number of users who went offline.
-- #include announce.lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local function goOffline(user)
  if redis.call('ZREM', KEYS[4], user) == 0 then return 0 end
  local previous = redis.call('HGET', KEYS[5], user) or 'ONLINE'
  redis.call('HDEL', KEYS[5], user)
  redis.call('HSET', KEYS[6], user, now)
  announce(ARGV[1], ARGV[2], user, 'OFFLINE', previous, now, redis.call('ZCARD', KEYS[4]))
  return 1
end

local offline = 0
for i = 3, #ARGV do
  local member = ARGV[i]
  if redis.call('ZREM', KEYS[1], member) == 1 then
    local user = string.match(member, '^[^|]*|[^|]*|(.*)$')
    if redis.call('HINCRBY', KEYS[2], user, -1) <= 0 then
      redis.call('HDEL', KEYS[2], user)
      local heartbeat = redis.call('ZSCORE', KEYS[3], user)
      if not heartbeat or tonumber(heartbeat) <= now then
        if heartbeat then redis.call('ZREM', KEYS[3], user) end
        offline = offline + goOffline(user)
      end
    end
  end
end
return offline
