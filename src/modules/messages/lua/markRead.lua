-- Moves an inbox's read marker forward to a message (never back) and returns the unread count.
-- KEYS[1] inbox stream   <prefix>user:{<userId>}:inbox (entries carry their seq)
-- KEYS[2] inbox state    <prefix>user:{<userId>}:inbox:state (hash: seq, readSeq)
-- ARGV[1] upTo: a message id (validated "<ms>-<seq>")
-- ARGV[2] retention floor: messages with a lower id are past the retention and are trimmed first
-- Returns { 'OK', unread count } | { 'NOT_FOUND', 0 } when upTo is no message of this inbox
redis.call('XTRIM', KEYS[1], 'MINID', '=', ARGV[2])
local function unread()
  local state = redis.call('HMGET', KEYS[2], 'seq', 'readSeq')
  local count = (tonumber(state[1]) or 0) - (tonumber(state[2]) or 0)
  return math.min(count, redis.call('XLEN', KEYS[1]))
end

local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])[1]
if not entry then
  -- No kept message at or before upTo: it was trimmed already (so it is no longer unread), or it
  -- is older than everything here. Nothing to move. Otherwise upTo is not a message of this inbox.
  if #redis.call('XRANGE', KEYS[1], '-', ARGV[1], 'COUNT', 1) == 0 then return { 'OK', unread() } end
  return { 'NOT_FOUND', 0 }
end
local seq
for i = 1, #entry[2], 2 do
  if entry[2][i] == 'seq' then seq = tonumber(entry[2][i + 1]) end
end
if seq > (tonumber(redis.call('HGET', KEYS[2], 'readSeq')) or 0) then
  redis.call('HSET', KEYS[2], 'readSeq', seq)
end
return { 'OK', unread() }
