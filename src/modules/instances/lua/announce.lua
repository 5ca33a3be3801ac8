-- Writes one instance's record, drops the records that expired, and, once per refresh interval
-- of Redis time, keeps a sample of the deployment's totals.
-- KEYS[1] index    <prefix>instances:{i}:index    zset instanceId -> record expiry (ms)
-- KEYS[2] records  <prefix>instances:{i}:records  hash instanceId -> record (JSON)
-- KEYS[3] trend    <prefix>instances:{i}:trend    list of samples (JSON), newest first
-- ARGV[1] instance id
-- ARGV[2] record (JSON with sockets, subscriptions, messagesPerSecond)
-- ARGV[3] record TTL (ms)
-- ARGV[4] refresh interval (ms): at most one sample per interval
-- ARGV[5] samples kept
-- ARGV[6] users online now
-- Returns 1 when it kept a sample, else 0.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
for i = 1, #expired do
  redis.call('ZREM', KEYS[1], expired[i])
  redis.call('HDEL', KEYS[2], expired[i])
end
-- The registry goes away by itself with the last instance: both keys live as long as the newest record.
local newest = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', KEYS[1], newest[2])
redis.call('PEXPIREAT', KEYS[2], newest[2])

local interval = tonumber(ARGV[4])
local head = redis.call('LINDEX', KEYS[3], 0)
if head and math.floor(cjson.decode(head).at / interval) >= math.floor(now / interval) then return 0 end
local sample = { at = now, instances = 0, sockets = 0, subscriptions = 0, messagesPerSecond = 0, online = tonumber(ARGV[6]) }
for _, json in ipairs(redis.call('HVALS', KEYS[2])) do
  local record = cjson.decode(json)
  sample.instances = sample.instances + 1
  sample.sockets = sample.sockets + record.sockets
  sample.subscriptions = sample.subscriptions + record.subscriptions
  sample.messagesPerSecond = sample.messagesPerSecond + record.messagesPerSecond
end
local kept = tonumber(ARGV[5])
redis.call('LPUSH', KEYS[3], cjson.encode(sample))
redis.call('LTRIM', KEYS[3], 0, kept - 1)
redis.call('PEXPIRE', KEYS[3], interval * kept)
return 1
