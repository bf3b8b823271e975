-- Record a job's failure, or send it back for another attempt, and release its lease, as
-- one step. With a run token, only the run that holds the lease may do so (0 is returned
-- otherwise, also when the reaper already took the job back: it must not be both queued
-- and failed), and a second run of the same call finds its own record and returns 2;
-- with an empty token (a job that could not be run at all) the lease is not checked.
--
-- KEYS[1] job hash
-- KEYS[2] started registry of the job's queue
-- KEYS[3] failed registry of the job's queue
-- KEYS[4] queue list
-- KEYS[5] scheduled registry of the job's queue
-- KEYS[6] wake channel of the queue
-- KEYS[7] the schedulers' wake channel
-- KEYS[8] the job's result channel, published on when someone waits (wait_result.lua)
-- ARGV[1] job id
-- ARGV[2] run token, or ""
-- ARGV[3] traceback text
-- ARGV[4] failure ttl in seconds, -1 to keep the job
-- ARGV[5] "" to fail for good, "now" to requeue at once, or the delay in milliseconds
--         (on Redis's clock) before the next attempt
-- ARGV[6] retries left after this failure (written when retrying)
-- ARGV[7] final status: "failed" or "stopped"
-- ARGV[8] key prefix, read only for a job that has dependents (see lib_dependents.lua)
-- ARGV[9] "1" to send a retried job to the front of its queue, else "0"
-- ARGV[10] the retries the job has in all (written when retrying, with ARGV[6])
-- Returns 1 when recorded, 2 when this run had already recorded it, 0 when the lease
-- belongs to another run (or the job is gone).
-- @include lib_time
-- @include lib_dependents
-- @include lib_limit_slots
local ttl = whole(ARGV[4])
local retry = ARGV[5]
local delay = whole(retry)
if ttl == nil or (retry ~= '' and retry ~= 'now' and delay == nil) or
    whole(ARGV[6]) == nil or whole(ARGV[10]) == nil then
  return redis.error_reply('ERR minirq: bad failure ttl, retry or retries left')
end
local job = redis.call('HMGET', KEYS[1], 'run', 'has_dependents', 'waited', 'limit_slot')
if ARGV[2] ~= '' and job[1] ~= ARGV[2] then
  return 0
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 and ARGV[2] ~= '' then
  return 2
end
-- A matching run token shows the hash exists; without one it must be looked at.
if ARGV[2] == '' and redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
release_limit_slot(KEYS[1], ARGV[1], job[4])
local now = redis_now_ms()
if retry == '' then
  redis.call('HSET', KEYS[1], 'status', ARGV[7], 'ended_ms', now, 'exc', ARGV[3])
  if ttl > 0 then
    redis.call('EXPIRE', KEYS[1], ttl)
    redis.call('ZADD', KEYS[3], now + ttl * 1000, ARGV[1])
  else
    redis.call('PERSIST', KEYS[1])
    redis.call('ZADD', KEYS[3], '+inf', ARGV[1])
  end
  if job[2] == '1' then
    release_dependents(ARGV[8], ARGV[1], now, false)
  end
elseif retry == 'now' then
  redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_ms', now, 'ended_ms', now,
    'exc', ARGV[3], 'retries_left', ARGV[6], 'retries_max', ARGV[10])
  local push = ARGV[9] == '1' and 'LPUSH' or 'RPUSH'
  if redis.call(push, KEYS[4], ARGV[1]) == 1 then
    redis.call('PUBLISH', KEYS[6], '1')
  end
else
  local due = now + delay
  redis.call('HSET', KEYS[1], 'status', 'scheduled', 'ended_ms', now, 'exc', ARGV[3],
    'retries_left', ARGV[6], 'retries_max', ARGV[10])
  if ARGV[9] == '1' then
    redis.call('HSET', KEYS[1], 'at_front', '1')
  end
  redis.call('ZADD', KEYS[5], due, ARGV[1])
  -- The scheduler may be asleep until a later job; this retry may be due first.
  redis.call('PUBLISH', KEYS[7], due)
end
if job[3] then
  redis.call('PUBLISH', KEYS[8], ARGV[7])
end
return 1
