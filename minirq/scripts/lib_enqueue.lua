-- Library, not a script: enqueue.lua and enqueue_many.lua include it (after lib_time
-- and lib_replace).
--
-- enqueue_job(K, k, A, a, ttl, n, last): the step of enqueue.lua for one job whose keys
-- follow K[k] and whose arguments follow A[a], each laid out as enqueue.lua's header
-- says (its KEYS[1] is K[k + 1], its ARGV[1] is A[a + 1]); ttl and n are its ARGV[4] and
-- ARGV[9], already checked, and its field pairs end at A[last]. Returns enqueue.lua's
-- reply for that job.
local function enqueue_job(K, k, A, a, ttl, n, last)
  local job_key, id = K[k + 1], A[a + 1]
  local seen, replaced = replace_ended(job_key, A[a + 7], id, A[a + 5], A[a + 8])
  if seen then
    return seen
  end
  if replaced then
    redis.call('DEL', K[k + 6])
  end
  local waiting = 0
  for i = 1, n do
    local parent_key = K[k + 5 + 2 * i]
    local status = redis.call('HGET', parent_key, 'status')
    -- A missing parent finished and was deleted (result_ttl=0), or was deleted on purpose.
    local done = (not status) or status == 'finished' or
      (A[a + 6] == '1' and (status == 'failed' or status == 'stopped'))
    if not done then
      redis.call('SADD', K[k + 6], A[a + 9 + i])
      redis.call('SADD', K[k + 6 + 2 * i], id)
      redis.call('HSET', parent_key, 'has_dependents', '1')
      waiting = waiting + 1
    end
  end
  redis.call('HSET', job_key, 'op', A[a + 5], unpack(A, a + 10 + n, last))
  redis.call('SADD', K[k + 3], A[a + 2])
  if waiting > 0 then
    redis.call('HSET', job_key, 'status', 'deferred')
    redis.call('HDEL', job_key, 'enqueued_ms')
    redis.call('ZADD', K[k + 5], redis_now_ms(), id)
    return {2, ''}
  end
  if ttl > 0 then
    redis.call('EXPIRE', job_key, ttl)
  end
  local length
  if A[a + 3] == '1' then
    length = redis.call('LPUSH', K[k + 2], id)
  else
    length = redis.call('RPUSH', K[k + 2], id)
  end
  -- Idle workers wait only after seeing their queues empty, so only a push onto an empty
  -- queue needs to wake them.
  if length == 1 then
    redis.call('PUBLISH', K[k + 4], '1')
  end
  return {1, ''}
end
