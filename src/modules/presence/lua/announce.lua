-- Included (`-- #include announce.lua`) by the presence scripts that decide a transition: the one
-- place a presenceChanged event is written. Its shape is PresenceChangedPayload
-- (presence.events.ts); it goes to everyone's channel and to the user's.
-- Both channels carry `{p}`, the tag of every presence key, so on a Redis Cluster they are shard
-- channels in the scripts' own slot and publishCommand (set by redis/lua.ts) is SPUBLISH there.
-- everyone    channel of everyone's presence events: <prefix>presenceChanged:{p}
-- userPrefix  channel prefix of one user's presence events (the user id is appended): <prefix>presenceChanged:{p}:
-- at          the moment of the transition (ms)
-- onlineCount number of online users right after it
local function announce(everyone, userPrefix, user, status, previous, at, onlineCount)
  local payload = cjson.encode({ userId = user, status = status, previous = previous, at = at, onlineCount = onlineCount })
  redis.call(publishCommand, everyone, payload)
  redis.call(publishCommand, userPrefix .. user, payload)
end
