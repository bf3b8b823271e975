-- Library, not a script (see lib_dependents.lua for how it is included).
--
-- redis_now_ms(): Redis's own clock in epoch milliseconds. Lease deadlines, reaping and
-- due times are decided by it, never by a caller's clock, so that a host whose clock is
-- off neither loses its lease, nor reaps others' jobs, nor starts a job early.
-- Read once per script call: a call is one atomic step (or several chained, see
-- minirq/store/runner.py), and its steps happen at one instant.
local clock_ms = nil
local function redis_now_ms()
  if clock_ms == nil then
    local t = redis.call('TIME')
    clock_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return clock_ms
end

-- A whole number from text, or nil: for values read from ARGV or from a hash, checked
-- before the first write so that a bad value fails the call without a half-done step.
local function whole(value)
  local n = tonumber(value)
  if n == nil or n ~= n or n ~= math.floor(n) or math.abs(n) > 1e15 then
    return nil
  end
  return n
end
