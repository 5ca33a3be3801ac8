-- Included (`-- #include announce.lua`) by the presence scripts that decide a transition: the one
-- place a presenceChanged event is written. Its shape is PresenceChangedPayload
-- (presence.events.ts); it goes to everyone's channel and to the user's.
-- everyone    channel of everyone's presence events
-- userPrefix  channel prefix of one user's presence events (the user id is appended)
-- at          the moment of the transition (ms)
-- onlineCount number of online users right after it
local function announce(everyone, userPrefix, user, status, previous, at, onlineCount)
  local payload = cjson.encode({ userId = user, status = status, previous = previous, at = at, onlineCount = onlineCount })
  redis.call('PUBLISH', everyone, payload)
  redis.call('PUBLISH', userPrefix .. user, payload)
end
