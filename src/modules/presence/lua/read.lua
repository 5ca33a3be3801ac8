-- The presence of some users, read as one consistent snapshot.
-- KEYS[1] online index    <prefix>presence:{s}:online       zset userId, score 0
-- KEYS[2] connections     <prefix>presence:{s}:connections  hash userId -> live sockets
-- KEYS[3] status          <prefix>presence:{s}:status       hash userId -> AWAY | BUSY
-- KEYS[4] last seen       <prefix>presence:{s}:lastSeen     hash userId -> ms
-- ARGV[1..] user ids
-- Returns { now (ms), then per user: online (1|0), status ("" when offline), live sockets, last seen ms ("" if never) }.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = { now }
for i = 1, #ARGV do
  local user = ARGV[i]
  local online = redis.call('ZSCORE', KEYS[1], user) and 1 or 0
  local status = ''
  if online == 1 then status = redis.call('HGET', KEYS[3], user) or 'ONLINE' end
  out[#out + 1] = online
  out[#out + 1] = status
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[2], user) or '0')
  out[#out + 1] = redis.call('HGET', KEYS[4], user) or ''
end
return out
