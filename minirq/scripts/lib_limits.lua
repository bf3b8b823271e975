-- Library, not a script (see lib_dependents.lua for how it is included): the limit gate
-- of fetch.lua, in one place so that a fetch of several jobs asks it once per job.
--
-- A limit is spelled '<key>|<concurrency>|<rate count>|<window ms>' (minirq/limits.py),
-- an absent part left empty. Its state, under <prefix>:limit:<key> (minirq/keys.py):
--   :slots   sorted set of the ids of the running jobs, scored by their lease deadline
--            (see lib_limit_slots.lua); a slot whose deadline passed is dropped here;
--   :starts  sorted set of the run tokens of the starts, scored by their start time (ms,
--            Redis's clock): a sliding-window log, pruned to the window.
-- A job may start when fewer than <concurrency> slots are held and fewer than <rate
-- count> starts are logged in (now - window, now]. So in any span of <window> ms there
-- are at most <rate count> starts: the last start of a span saw all the others in its
-- window.
--
-- limit_gate(prefix, now_ms, broken) returns a gate for one call:
--   gate.parse(text)            the limit, or nil when the text does not spell one
--   gate.may_start(text, limit) whether a job carrying it may start now; when not, the
--                               time until it may is kept in gate.wait_ms
--   gate.take(text, limit, id, run_token, deadline_ms)
--                               take its slot and log its start; returns the slots key
--                               to record in the job hash (nil without a concurrency)
--   gate.wait_ms                -1 if no job was held back by a limit, else the ms until
--                               the earliest known moment one may start (a window moving,
--                               a slot's lease running out); a slot given back earlier
--                               wakes the workers through <prefix>:limits:wake
-- State keys that are not sorted sets are added to `broken` (their jobs wait).
local MAX_LIMIT_COUNT = 100000
local MAX_LIMIT_WINDOW_MS = 7 * 24 * 3600 * 1000

local function limit_gate(prefix, now, broken)
  local gate = {wait_ms = -1}
  local verdicts = {}

  local function wait_at_most(ms)
    if ms < 0 then
      ms = 0
    end
    if gate.wait_ms < 0 or ms < gate.wait_ms then
      gate.wait_ms = ms
    end
  end

  function gate.parse(text)
    local key, c, n, w = string.match(text, '^([%w_.%-]+)|(%d*)|(%d*)|(%d*)$')
    if not key or #key > 64 or (n == '') ~= (w == '') or (c == '' and n == '') then
      return nil
    end
    local limit = {key = key, concurrency = tonumber(c), count = tonumber(n),
      window = tonumber(w)}
    if (limit.concurrency and (limit.concurrency < 1 or limit.concurrency > MAX_LIMIT_COUNT))
        or (limit.count and (limit.count < 1 or limit.count > MAX_LIMIT_COUNT))
        or (limit.window and (limit.window < 1 or limit.window > MAX_LIMIT_WINDOW_MS)) then
      return nil
    end
    return limit
  end

  -- How many members of `key` must go before one more fits under `allowed`, scored
  -- by when each goes: returns whether one fits, after dropping those gone by `expired`.
  local function fits(key, expired, allowed, delay)
    local pruned = redis.pcall('ZREMRANGEBYSCORE', key, '-inf', expired)
    if type(pruned) == 'table' and pruned.err then
      broken[#broken + 1] = key
      return false
    end
    local held = redis.call('ZCARD', key)
    if held < allowed then
      return true
    end
    local freeing = redis.call('ZRANGE', key, held - allowed, held - allowed, 'WITHSCORES')
    wait_at_most(tonumber(freeing[2]) + delay - now)
    return false
  end

  function gate.may_start(text, limit)
    local verdict = verdicts[text]
    if verdict == nil then
      local base = prefix .. ':limit:' .. limit.key
      verdict = (not limit.concurrency or fits(base .. ':slots', now, limit.concurrency, 0))
        and (not limit.count or
          fits(base .. ':starts', now - limit.window, limit.count, limit.window))
      verdicts[text] = verdict
    end
    return verdict
  end

  function gate.take(text, limit, id, run_token, deadline_ms)
    local base = prefix .. ':limit:' .. limit.key
    local slots = nil
    if limit.concurrency then
      slots = base .. ':slots'
      redis.call('ZADD', slots, deadline_ms, id)
    end
    if limit.count then
      redis.call('ZADD', base .. ':starts', now, run_token)
      redis.call('PEXPIRE', base .. ':starts', limit.window)
    end
    -- Known limits, for the dashboard: the numbers the latest start carried.
    redis.call('HSET', prefix .. ':limits', limit.key, text)
    -- Counts changed: every limit sharing the key must be looked at again.
    verdicts = {}
    return slots
  end

  return gate
end
