-- Returns a live session's fields and records its use, writing at most once per touch interval.
-- KEYS[1] session hash   <prefix>user:{<userId>}:session:<sessionId>
-- KEYS[2] session index  <prefix>user:{<userId>}:sessions
-- ARGV[1] now (ms)
-- ARGV[2] idle timeout (ms)
-- ARGV[3] touch interval (ms)
-- Returns the flat field/value list of the hash, or nil when the session has ended.
local now = tonumber(ARGV[1])
local fields = redis.call('HGETALL', KEYS[1])
if #fields == 0 then return nil end
local s = {}
for i = 1, #fields, 2 do s[fields[i]] = fields[i + 1] end
if tonumber(s.expiresAt) <= now then
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], s.id)
  return nil
end
if now - tonumber(s.lastSeenAt) >= tonumber(ARGV[3]) then
  local expiresAt = math.min(now + tonumber(ARGV[2]), tonumber(s.maxExpiresAt))
  redis.call('HSET', KEYS[1], 'lastSeenAt', now, 'expiresAt', expiresAt)
  redis.call('PEXPIREAT', KEYS[1], expiresAt)
  redis.call('ZADD', KEYS[2], expiresAt, s.id)
  return redis.call('HGETALL', KEYS[1])
end
return fields
