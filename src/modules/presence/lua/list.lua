-- One page of the online users, in user id order, with the exact online count.
-- Paging is by user id (ZRANGEBYLEX after the cursor), so a user who stays online while a
-- client pages is returned exactly once, whoever else comes and goes meanwhile.
-- KEYS[1] online index    <prefix>presence:{s}:online       zset userId, score 0
-- KEYS[2] connections     <prefix>presence:{s}:connections  hash userId -> live sockets
-- KEYS[3] status          <prefix>presence:{s}:status       hash userId -> AWAY | BUSY
-- ARGV[1] cursor: the last user id of the previous page, or "" for the first page
-- ARGV[2] page size
-- Returns { count, now (ms), 1 if more users follow else 0, then per user: id, status, live sockets }.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local size = tonumber(ARGV[2])
local min = '-'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
local users = redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', 0, size + 1)
local out = { redis.call('ZCARD', KEYS[1]), now, #users > size and 1 or 0 }
for i = 1, math.min(#users, size) do
  out[#out + 1] = users[i]
  out[#out + 1] = redis.call('HGET', KEYS[3], users[i]) or 'ONLINE'
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[2], users[i]) or '0')
end
return out
