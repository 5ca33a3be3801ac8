-- The live instance records and the trend, read as one snapshot.
-- KEYS[1] index    <prefix>instances:{i}:index    zset instanceId -> record expiry (ms)
-- KEYS[2] records  <prefix>instances:{i}:records  hash instanceId -> record (JSON)
-- KEYS[3] trend    <prefix>instances:{i}:trend    list of samples (JSON), newest first
-- Returns { records (JSON, of instances whose record has not expired), samples (JSON, newest first) }.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
local records = {}
if #ids > 0 then
  for _, json in ipairs(redis.call('HMGET', KEYS[2], unpack(ids))) do
    if json then records[#records + 1] = json end
  end
end
return { records, redis.call('LRANGE', KEYS[3], 0, -1) }
