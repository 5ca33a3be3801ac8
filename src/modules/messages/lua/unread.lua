-- The number of unread messages in an inbox, without scanning it.
-- Sequence numbers increase by one per message and trimming removes the oldest first, so the
-- unread messages are the newest (seq - readSeq) ones, of which at most XLEN are still kept.
-- KEYS[1] inbox stream   <prefix>user:{<userId>}:inbox
-- KEYS[2] inbox state    <prefix>user:{<userId>}:inbox:state (hash: seq, readSeq)
-- ARGV[1] retention floor: messages with a lower id are past the retention and are trimmed first
-- Returns the unread count
redis.call('XTRIM', KEYS[1], 'MINID', '=', ARGV[1])
local state = redis.call('HMGET', KEYS[2], 'seq', 'readSeq')
local unread = (tonumber(state[1]) or 0) - (tonumber(state[2]) or 0)
return math.min(unread, redis.call('XLEN', KEYS[1]))
