-- Library, not a script: finish.lua, fail.lua and cancel.lua include it with a line
-- "-- @include lib_dependents" (see scripts/__init__.py), so that releasing the jobs that
-- wait for a parent happens in the same step as the parent's own transition.
--
-- release_dependents(prefix, parent_id, now_ms, parent_ok): the parent reached an end
-- state. Each deferred dependent that may go on (the parent succeeded, or the dependent
-- allows failures) stops waiting for this parent; one that waits for no other parent is
-- moved from its deferred registry onto its queue (at the front with enqueue_at_front).
-- Dependents may live in other queues, so their keys are known only from data: they are
-- built here as <prefix>:<kind>:<name>, exactly as minirq/keys.py spells them. On Redis
-- Cluster this needs every key of a prefix in one slot: use a hash-tag prefix ({myapp}).
-- Returns how many dependents were enqueued.
local function release_dependents(prefix, parent_id, now_ms, parent_ok)
  local set_key = prefix .. ':dependents:' .. parent_id
  local released = 0
  for _, id in ipairs(redis.call('SMEMBERS', set_key)) do
    local job_key = prefix .. ':job:' .. id
    local f = redis.call('HMGET', job_key, 'status', 'origin', 'allow_failure',
      'enqueue_at_front', 'ttl')
    if f[1] ~= 'deferred' then
      -- Canceled, deleted or expired meanwhile: nothing waits any more.
      redis.call('SREM', set_key, id)
    elseif parent_ok or f[3] == '1' then
      redis.call('SREM', set_key, id)
      local waiting_key = prefix .. ':dependencies:' .. id
      redis.call('SREM', waiting_key, parent_id)
      if redis.call('SCARD', waiting_key) == 0 then
        local origin = f[2]
        redis.call('ZREM', prefix .. ':deferred:' .. origin, id)
        redis.call('HSET', job_key, 'status', 'queued', 'enqueued_ms', now_ms)
        if f[5] and tonumber(f[5]) > 0 then
          redis.call('EXPIRE', job_key, tonumber(f[5]))
        end
        local queue_key = prefix .. ':queue:' .. origin
        local length
        if f[4] == '1' then
          length = redis.call('LPUSH', queue_key, id)
        else
          length = redis.call('RPUSH', queue_key, id)
        end
        if length == 1 then
          redis.call('PUBLISH', prefix .. ':wake:' .. origin, '1')
        end
        released = released + 1
      end
    end
  end
  return released
end
