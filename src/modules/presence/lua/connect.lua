-- Registers one live socket of a user; the user's first socket (with no heartbeat) brings them
-- online, and that transition is announced here, in the same atomic step that decides it.
-- KEYS[1] socket leases   <prefix>presence:{s}:leases       zset member -> lease expiry (ms)
-- KEYS[2] connections     <prefix>presence:{s}:connections  hash userId -> live sockets
-- KEYS[3] heartbeats      <prefix>presence:{s}:heartbeats   zset userId -> heartbeat expiry (ms)
-- KEYS[4] online index    <prefix>presence:{s}:online       zset userId, score 0
-- KEYS[5] status          <prefix>presence:{s}:status       hash userId -> AWAY | BUSY
-- KEYS[6] last seen       <prefix>presence:{s}:lastSeen     hash userId -> ms
-- ARGV[1] the shard's channel of everyone's presence events
-- ARGV[2] channel prefix of one user's presence events (the user id is appended)
-- ARGV[3] lease length (ms)
-- ARGV[4] lease member "<instanceId>|<connectionId>|<userId>"
-- ARGV[5] user id
-- ARGV[6] most live sockets of one user on all instances (SOCKET_MAX_PER_USER); 0: no cap
-- Returns 1 when the user came online, 0 otherwise (also when the lease already existed), and
-- -1, storing nothing, when the user already has the most sockets allowed.
-- #include announce.lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local member, user = ARGV[4], ARGV[5]
local maxSockets = tonumber(ARGV[6])

if maxSockets > 0 and tonumber(redis.call('HGET', KEYS[2], user) or '0') >= maxSockets then return -1 end
if redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), member) == 0 then return 0 end
redis.call('HINCRBY', KEYS[2], user, 1)
if redis.call('ZADD', KEYS[4], 'NX', 0, user) == 0 then return 0 end

local status = redis.call('HGET', KEYS[5], user) or 'ONLINE'
announce(ARGV[1], ARGV[2], user, status, 'OFFLINE', now, redis.call('ZCARD', KEYS[4]))
return 1
