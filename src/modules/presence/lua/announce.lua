-- Included (`-- #include announce.lua`) by the presence scripts that decide a transition: the one
-- place a presenceChanged event is written. Its shape is PresenceChangedPayload
-- (presence.events.ts); it goes to everyone's channel and to the user's.
-- Every key of a presence script is of one shard, `{s}` (PresenceShards: the user's).
-- everyone    the shard's channel of everyone's presence events
-- userPrefix  channel prefix of one user's presence events (the user id is appended)
-- Both channels carry the shard's tag, so on a Redis Cluster they are shard channels in the
-- scripts' own slot, and publishCommand (set by redis/lua.ts) is SPUBLISH there.
-- at          the moment of the transition (ms)
-- onlineCount number of online users of the shard right after it (OnlineCounts adds the others)
local function announce(everyone, userPrefix, user, status, previous, at, onlineCount)
  local payload = cjson.encode({ userId = user, status = status, previous = previous, at = at, onlineCount = onlineCount })
  redis.call(publishCommand, everyone, payload)
  redis.call(publishCommand, userPrefix .. user, payload)
end
