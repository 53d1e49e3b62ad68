//! The Lua scripts of the Redis SharedObject store (see the parent
//! module for the keys they touch and the order they give).

/// Applies one accepted message; see the module documentation.
///
/// KEYS: slots, ver, log. ARGV: log max length, channel, op count, then per
/// op `kind slot value` (`S` set, `R` remove, `C` clear), then envelope
/// count, then per envelope `kind prefix suffix` (`D` logged and published,
/// `P` published only). Returns the version after the message.
pub const APPLY_SCRIPT: &str = r#"
local function varint(x)
  if x < 251 then return string.char(x) end
  if x < 65536 then return string.char(251, x % 256, math.floor(x / 256)) end
  return string.char(252, x % 256, math.floor(x / 256) % 256,
    math.floor(x / 65536) % 256, math.floor(x / 16777216) % 256)
end
local n = tonumber(ARGV[3])
local i = 4
local v = tonumber(redis.call('GET', KEYS[2]) or '0')
if n > 0 then
  v = v + 1
  if v > 4294967295 then v = 1 end
  local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
  if last[1] then
    local lv = tonumber(string.match(last[1][1], '^(%d+)'))
    if lv and lv >= v then v = lv + 1 end
  end
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
  end
  redis.call('PUBLISH', ARGV[2], env)
end
return v
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
