-- Extends the leases of one instance's live sockets: the one batched write per interval that
-- keeps them online. A lease that is gone (a sweep took it while this instance was stalled)
-- is not recreated here: it is returned, and the instance registers that socket again.
-- KEYS[1] socket leases   <prefix>presence:{s}:leases       zset member -> lease expiry (ms)
-- ARGV[1] lease length (ms)
-- ARGV[2..] lease members "<instanceId>|<connectionId>|<userId>"
-- Returns the members that had no lease.
local t = redis.call('TIME')
local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local missing = {}
for i = 2, #ARGV do
  if redis.call('ZADD', KEYS[1], 'XX', 'CH', expires, ARGV[i]) == 0 and not redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    missing[#missing + 1] = ARGV[i]
  end
end
return missing
