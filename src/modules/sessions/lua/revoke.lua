-- Ends sessions of one user: one by id, all but one, or all.
-- KEYS[1] session index  <prefix>user:{<userId>}:sessions
-- ARGV[1] session hash key prefix <prefix>user:{<userId>}:session: (same hash tag, so same slot:
--         Redis Cluster lets a script reach undeclared keys of its own slot; cluster.test.ts runs it)
-- ARGV[2] mode: 'one' (ARGV[3] is the session to end), 'others' (ARGV[3] is the one to keep), 'all'
-- ARGV[3] session id (modes 'one' and 'others')
-- Returns a flat list: sessionId, tokenHash, ... of the sessions it ended (the caller then drops
-- their token keys, which live in other slots, and announces the ends).
local mode = ARGV[2]
local ids
if mode == 'one' then
  ids = { ARGV[3] }
else
  ids = redis.call('ZRANGE', KEYS[1], 0, -1)
end
local ended = {}
for _, id in ipairs(ids) do
  if not (mode == 'others' and id == ARGV[3]) then
    local key = ARGV[1] .. id
    local tokenHash = redis.call('HGET', key, 'tokenHash')
    redis.call('ZREM', KEYS[1], id)
    if tokenHash then
      redis.call('DEL', key)
      ended[#ended + 1] = id
      ended[#ended + 1] = tokenHash
    end
  end
end
return ended
