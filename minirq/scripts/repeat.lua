-- Record a successful run of a repeating job and send it back for its next run (to its
-- queue, or to the scheduled set when an interval applies), releasing its lease, as one
-- step: the job is never both finished and waiting, nor lost between the two.
--
-- KEYS[1] job hash
-- KEYS[2] started registry of the job's queue
-- KEYS[3] queue list
-- KEYS[4] scheduled registry of the job's queue
-- KEYS[5] wake channel of the queue
-- KEYS[6] the schedulers' wake channel
-- KEYS[7] the job's result channel, published on when someone waits (wait_result.lua)
-- ARGV[1] job id
-- ARGV[2] run token (only the run that holds the lease may record)
-- ARGV[3] the serialized result of this run
-- ARGV[4] "now" to requeue at once, or the delay in milliseconds before the next run
-- ARGV[5] repeats left after this run
-- Returns 1 when recorded, 2 when this run had already recorded it, 0 otherwise.
-- @include lib_time
local delay = whole(ARGV[4])
if (ARGV[4] ~= 'now' and delay == nil) or whole(ARGV[5]) == nil then
  return redis.error_reply('ERR minirq: bad repeat delay or count')
end
local job = redis.call('HMGET', KEYS[1], 'run', 'waited')
if job[1] ~= ARGV[2] then
  return 0
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 2
end
local now = redis_now_ms()
redis.call('HSET', KEYS[1], 'ended_ms', now, 'result', ARGV[3], 'repeats_left', ARGV[5])
-- This run's success is the job's latest outcome, not an earlier run's failure.
redis.call('HDEL', KEYS[1], 'exc')
if job[2] then
  redis.call('PUBLISH', KEYS[7], 'finished')
end
if ARGV[4] == 'now' then
  redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_ms', now)
  if redis.call('RPUSH', KEYS[3], ARGV[1]) == 1 then
    redis.call('PUBLISH', KEYS[5], '1')
  end
else
  local due = now + delay
  redis.call('HSET', KEYS[1], 'status', 'scheduled')
  redis.call('ZADD', KEYS[4], due, ARGV[1])
  redis.call('PUBLISH', KEYS[6], due)
end
return 1
