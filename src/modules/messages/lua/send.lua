-- Stores a message in the recipient's inbox and publishes it, as one atomic step.
-- A retry (same sender, same clientMessageId) returns the first message and changes nothing.
-- KEYS[1] inbox stream   <prefix>user:{<to>}:inbox (fields seq, from, fromUsername, body[, clientMessageId])
-- KEYS[2] inbox state    <prefix>user:{<to>}:inbox:state (hash: seq, readSeq)
-- KEYS[3] dedupe key     <prefix>user:{<to>}:dedupe:<from>:<sha256(clientMessageId)>; without a
--                        clientMessageId the bare dedupe prefix (same slot, never read or written)
-- ARGV[1] channel to publish the message on: <prefix>messageReceived:{<to>} (the inbox's slot)
-- ARGV[2] to (recipient user id)
-- ARGV[3] from (sender user id)
-- ARGV[4] fromUsername
-- ARGV[5] body
-- ARGV[6] clientMessageId, or '' for none
-- ARGV[7] most messages kept in the inbox (exact MAXLEN)
-- ARGV[8] retention (ms): older messages are trimmed, and an idle inbox expires after it
-- ARGV[9] how long the dedupe key is kept (s)
-- Returns { 'NEW' | 'DUPLICATE', message JSON (as published) }
-- publishCommand (set by redis/lua.ts): PUBLISH, or SPUBLISH on a Redis Cluster
local clientMessageId = ARGV[6]
if clientMessageId ~= '' then
  local first = redis.call('GET', KEYS[3])
  if first then return { 'DUPLICATE', first } end
end

local retention = tonumber(ARGV[8])
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local fields = { 'seq', seq, 'from', ARGV[3], 'fromUsername', ARGV[4], 'body', ARGV[5] }
if clientMessageId ~= '' then
  fields[#fields + 1] = 'clientMessageId'
  fields[#fields + 1] = clientMessageId
end
-- Exact trimming (not ~): the oldest go first, so unread = min(seq - readSeq, XLEN) stays exact.
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '=', ARGV[7], '*', unpack(fields))
local sentAt = tonumber(string.match(id, '^(%d+)-'))
if sentAt > retention then
  redis.call('XTRIM', KEYS[1], 'MINID', '=', string.format('%.0f-0', sentAt - retention))
end
-- Every message left is younger than the retention, so an inbox idle that long is empty: let it go.
redis.call('PEXPIRE', KEYS[1], retention)
redis.call('PEXPIRE', KEYS[2], retention)

local message = cjson.encode({
  id = id,
  from = ARGV[3],
  fromUsername = ARGV[4],
  to = ARGV[2],
  body = ARGV[5],
  sentAt = sentAt,
  clientMessageId = clientMessageId ~= '' and clientMessageId or nil,
})
if clientMessageId ~= '' then
  redis.call('SET', KEYS[3], message, 'EX', ARGV[9])
end
redis.call(publishCommand, ARGV[1], message)
return { 'NEW', message }
