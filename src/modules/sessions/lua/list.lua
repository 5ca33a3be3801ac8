-- Returns every live session of a user, pruning index entries whose session has ended.
-- Does not rely on keyspace notifications: an entry is dropped when its score (expiresAt) has
-- passed or its hash is gone (revoked).
-- KEYS[1] session index  <prefix>user:{<userId>}:sessions
-- ARGV[1] now (ms)
-- ARGV[2] session hash key prefix <prefix>user:{<userId>}:session: (same hash tag, so same slot:
--         Redis Cluster lets a script reach undeclared keys of its own slot; cluster.test.ts runs it)
-- Returns one flat field/value list per live session.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local sessions = {}
for _, id in ipairs(ids) do
  local fields = redis.call('HGETALL', ARGV[2] .. id)
  if #fields == 0 then
    redis.call('ZREM', KEYS[1], id)
  else
    sessions[#sessions + 1] = fields
  end
end
return sessions
