-- Applies one validated change to a user's settings as a new version, and announces the result.
-- Checks come first, so a refused change writes nothing.
-- KEYS[1] settings hash  <prefix>user:{<userId>}:settings (theme, language, timezone, notifications, version, updatedAt)
-- KEYS[2] extra hash     <prefix>user:{<userId>}:settings:extra (key -> value)
-- ARGV[1] channel to publish the new settings on: <prefix>settingsChanged:{<userId>} (the settings' slot)
-- ARGV[2] now, ISO-8601 (the new updatedAt)
-- ARGV[3] expected version, or '' for no check
-- ARGV[4] most extra entries allowed after the change
-- ARGV[5] change, JSON: { defaults = {field: value}, set = {field: value}, upsert = [[key, value]], remove = [key], clear = bool }
--         (fixed fields as strings; defaults fill fields the hash lacks, so the stored record is complete)
-- Returns { 'OK', settings JSON (as published) } | { 'CONFLICT', stored version } | { 'TOO_MANY', entries after the change }
-- publishCommand (set by redis/lua.ts): PUBLISH, or SPUBLISH on a Redis Cluster
local change = cjson.decode(ARGV[5])
local version = tonumber(redis.call('HGET', KEYS[1], 'version') or '0')
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= version then
  return { 'CONFLICT', version }
end

local count = change.clear and 0 or redis.call('HLEN', KEYS[2])
local added = 0
for _, entry in ipairs(change.upsert) do
  if change.clear or redis.call('HEXISTS', KEYS[2], entry[1]) == 0 then added = added + 1 end
end
count = count + added
if not change.clear then
  for _, key in ipairs(change.remove) do
    if redis.call('HEXISTS', KEYS[2], key) == 1 then count = count - 1 end
  end
end
if added > 0 and count > tonumber(ARGV[4]) then
  return { 'TOO_MANY', count }
end

for field, value in pairs(change.defaults) do
  redis.call('HSETNX', KEYS[1], field, value)
end
for field, value in pairs(change.set) do
  redis.call('HSET', KEYS[1], field, value)
end
if change.clear then redis.call('DEL', KEYS[2]) end
for _, key in ipairs(change.remove) do redis.call('HDEL', KEYS[2], key) end
for _, entry in ipairs(change.upsert) do redis.call('HSET', KEYS[2], entry[1], entry[2]) end
version = redis.call('HINCRBY', KEYS[1], 'version', 1)
redis.call('HSET', KEYS[1], 'updatedAt', ARGV[2])

local stored = {}
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do stored[flat[i]] = flat[i + 1] end
local extra = {}
flat = redis.call('HGETALL', KEYS[2])
for i = 1, #flat, 2 do extra[flat[i]] = flat[i + 1] end
-- extra is a JSON object (an empty Lua table encodes as {}, never as a wrong-typed []).
local settings = cjson.encode({
  theme = stored.theme,
  language = stored.language,
  timezone = stored.timezone,
  notifications = stored.notifications == 'true',
  extra = extra,
  version = version,
  updatedAt = stored.updatedAt,
})
redis.call(publishCommand, ARGV[1], settings)
return { 'OK', settings }
