-- Library, not a script: enqueue.lua and enqueue_many.lua include it (after lib_time
-- and lib_replace).
--
-- store_job(key, id, op, chosen, prefix, parents, allow_failure, deps_key, deferred_key,
-- args, first, last): the part of an enqueue that writes one job, all but its push onto
-- the queue. key is its hash, op its operation token, chosen "1" if its id may name a
-- hash, prefix reaches the registry of a replaced job; parents is a list of {id, hash
-- key, dependents set key}, allow_failure true if failed or stopped parents count as
-- done, deps_key the set of parents it still waits for (needed with parents, or when
-- chosen), deferred_key the deferred registry of its queue; its field, value pairs are
-- args[first..last]. Returns the reply of the enqueue when the job is not to be pushed
-- ({2, ""} deferred, {0, status, queue} refused, or the first run's reply on a second
-- run), or nil when it is stored and must be pushed (its ttl is the caller's).
local function store_job(key, id, op, chosen, prefix, parents, allow_failure, deps_key,
                         deferred_key, args, first, last)
  local seen, replaced = replace_ended(key, prefix, id, op, chosen)
  if seen then
    return seen
  end
  if replaced then
    redis.call('DEL', deps_key)
  end
  local waiting = 0
  for _, parent in ipairs(parents) do
    local status = redis.call('HGET', parent[2], 'status')
    -- A missing parent finished and was deleted (result_ttl=0), or was deleted on purpose.
    local done = (not status) or status == 'finished' or
      (allow_failure and (status == 'failed' or status == 'stopped'))
    if not done then
      redis.call('SADD', deps_key, parent[1])
      redis.call('SADD', parent[3], id)
      redis.call('HSET', parent[2], 'has_dependents', '1')
      waiting = waiting + 1
    end
  end
  redis.call('HSET', key, 'op', op, unpack(args, first, last))
  if waiting > 0 then
    redis.call('HSET', key, 'status', 'deferred')
    redis.call('HDEL', key, 'enqueued_ms')
    redis.call('ZADD', deferred_key, redis_now_ms(), id)
    return {2, ''}
  end
  return nil
end

-- Lua's unpack() takes a few thousand values at most: ids are pushed in slices.
local PUSH_SLICE = 1000

-- push_ids(queue_key, wake_key, front, back): LPUSH the ids of the list front, one after
-- another, and RPUSH those of back; the queue then holds them as if each job had been
-- pushed alone, in order. Idle workers wait only after seeing their queues empty, so
-- the wake channel is published on only when the queue was empty before.
local function push_side(command, queue_key, ids, length)
  for from = 1, #ids, PUSH_SLICE do
    length = redis.call(command, queue_key, unpack(ids, from, math.min(#ids, from + PUSH_SLICE - 1)))
  end
  return length
end

local function push_ids(queue_key, wake_key, front, back)
  local length = push_side('RPUSH', queue_key, back, push_side('LPUSH', queue_key, front, 0))
  local pushed = #front + #back
  if pushed > 0 and length == pushed then
    redis.call('PUBLISH', wake_key, '1')
  end
end
