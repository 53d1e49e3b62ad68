//! The Lua scripts of the Redis SharedObject store (see the parent
//! module for the keys they touch and the order they give).

/// Applies accepted messages, in order; see the module documentation.
///
/// KEYS: slots, ver, log. ARGV: log max length, channel, message count,
/// then per message: op count, per op `kind slot value` (`S` set, `R`
/// remove, `C` clear), envelope count, per envelope `kind prefix suffix`
/// (`D` logged and published, `P` published only). Returns the version
/// after each message, in order.
///
/// Each message is handled exactly as if it came alone: a message with
/// ops bumps the version (never to one at or below the log's last entry),
/// sets `ver`, and its envelopes are logged/published at its version. The
/// log's last entry is read once; the script's own appends follow it.
pub const APPLY_SCRIPT: &str = r#"
local function varint(x)
  if x < 251 then return string.char(x) end
  if x < 65536 then return string.char(251, x % 256, math.floor(x / 256)) end
  return string.char(252, x % 256, math.floor(x / 256) % 256,
    math.floor(x / 65536) % 256, math.floor(x / 16777216) % 256)
end
local v = tonumber(redis.call('GET', KEYS[2]) or '0')
local read, lv = false, nil
local out = {}
local i = 4
for m = 1, tonumber(ARGV[3]) do
  local n = tonumber(ARGV[i])
  i = i + 1
  if n > 0 then
    v = v + 1
    if v > 4294967295 then v = 1 end
    if not read then
      read = true
      local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
      if last[1] then lv = tonumber(string.match(last[1][1], '^(%d+)')) end
    end
    if lv and lv >= v then v = lv + 1 end
    for k = 1, n do
      local kind, slot, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
      i = i + 3
      if kind == 'S' then redis.call('HSET', KEYS[1], slot, value)
      elseif kind == 'R' then redis.call('HDEL', KEYS[1], slot)
      else redis.call('DEL', KEYS[1]) end
    end
    redis.call('SET', KEYS[2], v)
  end
  local ne = tonumber(ARGV[i])
  i = i + 1
  for k = 1, ne do
    local kind, prefix, suffix = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    i = i + 3
    local env = prefix .. varint(v) .. suffix
    if kind == 'D' then
      redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], v .. '-0', 'e', env)
      lv = v
    end
    redis.call('PUBLISH', ARGV[2], env)
  end
  out[m] = v
end
return out
"#;

/// A node starts using a non-persistent object. KEYS: members, ver.
/// ARGV: node id, first version (if the object does not exist yet).
pub(super) const JOIN_SCRIPT: &str = r#"
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2], 'NX')
return 1
"#;

/// A node stops using a non-persistent object; the last one deletes it.
/// KEYS: members, slots, ver, log. ARGV: node id. Returns 1 if deleted.
pub(super) const LEAVE_SCRIPT: &str = r#"
redis.call('SREM', KEYS[1], ARGV[1])
if redis.call('SCARD', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
  return 1
end
return 0
"#;
