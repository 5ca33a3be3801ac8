-- Creates a session and adds it to its user's index.
-- KEYS[1] session hash   <prefix>user:{<userId>}:session:<sessionId>
-- KEYS[2] session index  <prefix>user:{<userId>}:sessions (zset: sessionId -> expiresAt ms)
-- ARGV[1] now (ms)
-- ARGV[2] expiresAt (ms): idle expiry of the new session
-- ARGV[3] maxExpiresAt (ms): absolute end of the session
-- ARGV[4] sessionId
-- ARGV[5..] field, value pairs of the session hash
local now = tonumber(ARGV[1])
local expiresAt = tonumber(ARGV[2])
local maxExpiresAt = tonumber(ARGV[3])
local fields = {}
for i = 5, #ARGV do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], expiresAt)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], expiresAt, ARGV[4])
-- The index lives as long as its longest-lived session could.
local ttl = redis.call('PTTL', KEYS[2])
if ttl < 0 or now + ttl < maxExpiresAt then
  redis.call('PEXPIREAT', KEYS[2], maxExpiresAt)
end
return 1
