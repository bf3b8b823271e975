-- Record a job's success and release its lease as one step. Only the worker that holds
-- the lease may finish the job: if the reaper gave the job to another worker meanwhile,
-- nothing is written and 0 is returned.
--
-- KEYS[1] job hash
-- KEYS[2] started registry of the job's queue
-- KEYS[3] finished registry of the job's queue
-- ARGV[1] job id
-- ARGV[2] worker name
-- ARGV[3] now, epoch milliseconds
-- ARGV[4] result ttl in seconds: -1 keeps the job, 0 deletes it at once
-- ARGV[5] the serialized result
-- ARGV[6] key prefix, read only for a job that has dependents (see lib_dependents.lua)
-- @include lib_dependents
if redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] or
    redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
if redis.call('HGET', KEYS[1], 'has_dependents') == '1' then
  release_dependents(ARGV[6], ARGV[1], ARGV[3], true)
end
local ttl = tonumber(ARGV[4])
if ttl == 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HSET', KEYS[1], 'status', 'finished', 'ended_ms', ARGV[3], 'result', ARGV[5])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[3], tonumber(ARGV[3]) + ttl * 1000, ARGV[1])
else
  redis.call('ZADD', KEYS[3], '+inf', ARGV[1])
end
return 1
