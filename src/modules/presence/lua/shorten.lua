-- Sets the leases of an instance that stops gracefully to end a grace period from now. A user
-- who reconnects elsewhere within it takes a new lease first, so they stay online throughout (no
-- OFFLINE then ONLINE); for the others the first sweep after it takes them offline, as if the
-- instance had died then. Nothing changes state here, so nothing is announced.
-- KEYS[1] socket leases   <prefix>presence:{s}:leases       zset member -> lease expiry (ms)
-- ARGV[1] grace (ms)
-- ARGV[2..] lease members "<instanceId>|<connectionId>|<userId>"
-- Returns the number of leases shortened.
local t = redis.call('TIME')
local expires = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
local shortened = 0
for i = 2, #ARGV do
  shortened = shortened + redis.call('ZADD', KEYS[1], 'XX', 'CH', expires, ARGV[i])
end
return shortened
