-- Record a job's failure, or send it back for another attempt, and release its lease, as
-- one step. With a worker name, only the worker that holds the lease may do so (0 is
-- returned otherwise, also when the reaper already took the job back: it must not be
-- both queued and failed); with an empty name the lease is not checked.
--
-- KEYS[1] job hash
-- KEYS[2] started registry of the job's queue
-- KEYS[3] failed registry of the job's queue
-- KEYS[4] queue list
-- KEYS[5] scheduled registry of the job's queue
-- KEYS[6] wake channel of the queue
-- ARGV[1] job id
-- ARGV[2] worker name, or ""
-- ARGV[3] now, epoch milliseconds
-- ARGV[4] traceback text
-- ARGV[5] failure ttl in seconds, -1 to keep the job
-- ARGV[6] "" to fail for good, "now" to requeue at once, or the due time (epoch ms) of
--         the next attempt
-- ARGV[7] retries left after this failure (written when retrying)
-- ARGV[8] final status: "failed" or "stopped"
-- ARGV[9] key prefix, read only for a job that has dependents (see lib_dependents.lua)
-- @include lib_dependents
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] then
  return 0
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 and ARGV[2] ~= '' then
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local retry = ARGV[6]
if retry == '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[8], 'ended_ms', ARGV[3], 'exc', ARGV[4])
  local ttl = tonumber(ARGV[5])
  if ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('ZADD', KEYS[3], tonumber(ARGV[3]) + ttl * 1000, ARGV[1])
  else
    redis.call('PERSIST', KEYS[1])
    redis.call('ZADD', KEYS[3], '+inf', ARGV[1])
  end
  if redis.call('HGET', KEYS[1], 'has_dependents') == '1' then
    release_dependents(ARGV[9], ARGV[1], ARGV[3], false)
  end
elseif retry == 'now' then
  redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_ms', ARGV[3], 'exc', ARGV[4],
    'retries_left', ARGV[7])
  if redis.call('RPUSH', KEYS[4], ARGV[1]) == 1 then
    redis.call('PUBLISH', KEYS[6], '1')
  end
else
  redis.call('HSET', KEYS[1], 'status', 'scheduled', 'exc', ARGV[4], 'retries_left', ARGV[7])
  redis.call('ZADD', KEYS[5], retry, ARGV[1])
end
return 1
