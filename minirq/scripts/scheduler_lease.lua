-- Acquire, renew or release the scheduler lease. Each acquisition takes a new fencing
-- token from a counter, so a value can never be confused with an earlier holder's; the
-- check and the write must be one step or two schedulers could both believe they lead.
--
-- KEYS[1] the scheduler lease
-- KEYS[2] the fencing token counter
-- ARGV[1] "acquire", "renew" or "release"
-- ARGV[2] holder name (acquire) or the held lease value (renew, release)
-- ARGV[3] lease length in milliseconds
-- Returns the lease value now held by the caller, or false.
local action = ARGV[1]
if action == 'acquire' then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    return false
  end
  local value = redis.call('INCR', KEYS[2]) .. ':' .. ARGV[2]
  redis.call('SET', KEYS[1], value, 'PX', tonumber(ARGV[3]))
  return value
end
if redis.call('GET', KEYS[1]) ~= ARGV[2] then
  return false
end
if action == 'renew' then
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  return ARGV[2]
end
redis.call('DEL', KEYS[1])
return false
