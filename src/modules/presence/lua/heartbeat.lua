-- Keeps a user online for one lease length without a socket and optionally sets their status.
-- Coming online, or a status change of an online user, is announced here.
-- KEYS[1] heartbeats      <prefix>presence:{s}:heartbeats   zset userId -> heartbeat expiry (ms)
-- KEYS[2] connections     <prefix>presence:{s}:connections  hash userId -> live sockets
-- KEYS[3] online index    <prefix>presence:{s}:online       zset userId, score 0
-- KEYS[4] status          <prefix>presence:{s}:status       hash userId -> AWAY | BUSY
-- ARGV[1] the shard's channel of everyone's presence events
-- ARGV[2] channel prefix of one user's presence events (the user id is appended)
-- ARGV[3] lease length (ms)
-- ARGV[4] user id
-- ARGV[5] new status (ONLINE, AWAY or BUSY), or "" to keep the current one
-- Returns { status, live sockets, now (ms), previous status (OFFLINE when it came online) }.
-- #include announce.lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local user, wanted = ARGV[4], ARGV[5]

redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), user)
local wasOnline = redis.call('ZADD', KEYS[3], 'NX', 0, user) == 0
local previous = 'OFFLINE'
if wasOnline then previous = redis.call('HGET', KEYS[4], user) or 'ONLINE' end
local status = wanted
if status == '' then status = wasOnline and previous or 'ONLINE' end
-- Only non-default statuses are stored, so the hash holds AWAY and BUSY users only.
if status == 'ONLINE' then redis.call('HDEL', KEYS[4], user) else redis.call('HSET', KEYS[4], user, status) end

if status ~= previous then
  announce(ARGV[1], ARGV[2], user, status, previous, now, redis.call('ZCARD', KEYS[3]))
end
return { status, tonumber(redis.call('HGET', KEYS[2], user) or '0'), now, previous }
