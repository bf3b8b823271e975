-- Record a job's success and release its lease as one step. Only the run that holds the
-- lease (its run token) may finish the job: if the reaper gave the job to another run
-- meanwhile, nothing is written and 0 is returned. A second run of the same call (its
-- reply was lost) finds its own record and returns 2.
--
-- KEYS[1] job hash
-- KEYS[2] started registry of the job's queue
-- KEYS[3] finished registry of the job's queue
-- KEYS[4] the job's result channel, published on when someone waits (wait_result.lua)
-- ARGV[1] job id
-- ARGV[2] run token
-- ARGV[3] result ttl in seconds: -1 keeps the job, 0 deletes it at once
-- ARGV[4] the serialized result
-- ARGV[5] key prefix, read only for a job that has dependents (see lib_dependents.lua)
-- Returns 1 when recorded, 2 when this run had already recorded it, 0 when the lease
-- belongs to another run, -1 when the job is gone.
-- @include lib_time
-- @include lib_dependents
local ttl = whole(ARGV[3])
if ttl == nil then
  return redis.error_reply('ERR minirq: bad result ttl')
end
local job = redis.call('HMGET', KEYS[1], 'run', 'has_dependents', 'waited')
local run = job[1]
if not run then
  return -1
end
if run ~= ARGV[2] then
  return 0
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 2
end
local now = redis_now_ms()
if job[2] == '1' then
  release_dependents(ARGV[5], ARGV[1], now, true)
end
if ttl == 0 then
  redis.call('DEL', KEYS[1])
  if job[3] then
    redis.call('PUBLISH', KEYS[4], 'finished')
  end
  return 1
end
redis.call('HSET', KEYS[1], 'status', 'finished', 'ended_ms', now, 'result', ARGV[4])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[3], now + ttl * 1000, ARGV[1])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[3], '+inf', ARGV[1])
end
if job[3] then
  redis.call('PUBLISH', KEYS[4], 'finished')
end
return 1
