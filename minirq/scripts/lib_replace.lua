-- Library, not a script: enqueue.lua and schedule.lua include it.
--
-- replace_ended(job_key, prefix, id, op, chosen): make room for a new job of this id.
-- Returns nil when the id is free (no hash, or a job that ended, whose hash is deleted
-- and whose id leaves its registry here; the second value is then true). Returns the
-- reply the caller must give without writing anything: {0, status, queue} while a live
-- job has the id, or the reply of the first run when this same operation (token op)
-- already ran and only its reply was lost. chosen is "1" for an id that may name a hash:
-- one the caller chose, or any id when the call is sent again after a lost reply. A
-- generated id on a first send cannot name a hash, so it is not looked for.
-- Jobs already waiting for the old job (a saved "created" one, or a failed one run
-- again) keep waiting for the new one: its has_dependents mark is carried over.
-- The old registry is known only from data (the old job's queue): its key is built as
-- <prefix>:<kind>:<queue>, exactly as minirq/keys.py spells it (one slot per prefix on
-- Redis Cluster: use a hash-tag prefix).
-- Its tables are built only when an id may name a hash: a generated id (nearly every
-- enqueue) needs none of them, and a script builds its top-level tables on every call.
local function replace_ended(job_key, prefix, id, op, chosen)
  if chosen ~= '1' then
    return nil, false
  end
  local REGISTRY_OF = {
    finished = 'finished', failed = 'failed', stopped = 'failed', canceled = 'canceled',
  }
  -- Statuses of a job that is in no registry (job.save() of a job built by Job.create).
  local NO_PLACE = {created = true}
  local LIVE = {queued = true, scheduled = true, deferred = true, started = true}
  local ALL_REGISTRIES = {'started', 'finished', 'failed', 'scheduled', 'deferred', 'canceled'}
  local old = redis.call('HMGET', job_key, 'status', 'origin', 'op', 'has_dependents')
  if not (old[1] or old[2] or old[3]) then
    -- No hash, or one minirq did not write: nothing of it may mix with the new job.
    if redis.call('DEL', job_key) == 1 then
      return nil, true
    end
    return nil, false
  end
  local status, origin = old[1], old[2] or ''
  if old[3] == op then
    if status == 'deferred' then
      return {2, ''}
    end
    return {1, ''}
  end
  if status and LIVE[status] then
    return {0, status, origin}
  end
  local kind = status and REGISTRY_OF[status]
  if kind then
    redis.call('ZREM', prefix .. ':' .. kind .. ':' .. origin, id)
  elseif not NO_PLACE[status] then
    -- A hash without a known status (damaged): take the id out of every place it might be.
    for _, k in ipairs(ALL_REGISTRIES) do
      redis.call('ZREM', prefix .. ':' .. k .. ':' .. origin, id)
    end
    redis.call('LREM', prefix .. ':queue:' .. origin, 0, id)
  end
  redis.call('DEL', job_key)
  if old[4] == '1' then
    redis.call('HSET', job_key, 'has_dependents', '1')
  end
  return nil, true
end

-- live_holder(job_key, op): {0, status, queue} when a live job that this operation did
-- not write holds the id, else nil. Reads only: a batch asks it for every id before it
-- writes anything, so that it refuses all of its jobs or none. A key that is not a hash
-- is an error reply naming it.
local function live_holder(job_key, op)
  local old = redis.pcall('HMGET', job_key, 'status', 'op', 'origin')
  if old.err then
    return redis.error_reply('ERR minirq: ' .. job_key .. ' is not a job hash')
  end
  local status = old[1]
  if old[2] == op or not status then
    return nil
  end
  if status == 'queued' or status == 'scheduled' or status == 'deferred' or
      status == 'started' then
    return {0, status, old[3] or ''}
  end
  return nil
end
