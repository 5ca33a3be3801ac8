-- Creates a session and adds it to its user's index. A user who has the most live sessions
-- allowed first loses the least recently used ones, in the same atomic step, so the cap holds
-- however many logins race.
-- KEYS[1] session hash   <prefix>user:{<userId>}:session:<sessionId>
-- KEYS[2] session index  <prefix>user:{<userId>}:sessions (zset: sessionId -> expiresAt ms)
-- ARGV[1] now (ms)
-- ARGV[2] expiresAt (ms): idle expiry of the new session
-- ARGV[3] maxExpiresAt (ms): absolute end of the session
-- ARGV[4] sessionId
-- ARGV[5] most live sessions of one user, the new one included (SESSION_MAX_PER_USER)
-- ARGV[6] session hash key prefix <prefix>user:{<userId>}:session: (same hash tag, so same slot:
--         Redis Cluster lets a script reach undeclared keys of its own slot; quantity-limits.test.ts
--         runs it on a Cluster)
-- ARGV[7..] field, value pairs of the session hash
-- Returns a flat list: sessionId, tokenHash, ... of the sessions it ended to make room (the
-- caller then drops their token keys, which live in other slots, and announces the ends).
local now = tonumber(ARGV[1])
local expiresAt = tonumber(ARGV[2])
local maxExpiresAt = tonumber(ARGV[3])
local maxSessions = tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)

local ended = {}
if redis.call('ZCARD', KEYS[2]) >= maxSessions then
  -- The index is ordered by expiry, which the absolute end caps; use is lastSeenAt, read from
  -- each hash (a session's use is written at most once per touch interval, see touch.lua).
  local live = {}
  for _, id in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
    local f = redis.call('HMGET', ARGV[6] .. id, 'lastSeenAt', 'createdAt', 'tokenHash')
    if f[3] then
      live[#live + 1] = { id = id, lastSeenAt = tonumber(f[1]), createdAt = tonumber(f[2]), tokenHash = f[3] }
    else
      redis.call('ZREM', KEYS[2], id) -- its hash is gone: the session has ended already
    end
  end
  table.sort(live, function(a, b)
    if a.lastSeenAt ~= b.lastSeenAt then return a.lastSeenAt < b.lastSeenAt end
    return a.createdAt < b.createdAt
  end)
  for i = 1, #live - maxSessions + 1 do
    redis.call('DEL', ARGV[6] .. live[i].id)
    redis.call('ZREM', KEYS[2], live[i].id)
    ended[#ended + 1] = live[i].id
    ended[#ended + 1] = live[i].tokenHash
  end
end

local fields = {}
for i = 7, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], expiresAt)
redis.call('ZADD', KEYS[2], expiresAt, ARGV[4])
-- The index lives as long as its longest-lived session could.
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 or now + ttl < maxExpiresAt then
  redis.call('PEXPIREAT', KEYS[2], maxExpiresAt)
end
return ended
