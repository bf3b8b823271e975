-- Move a job from one of its queue's registries (failed, canceled, started, ...) back
-- onto the queue as one step. With a run token (a worker putting back a job it was told
-- to stop running), only that run may do so. A second run of the same call (its reply
-- was lost) finds its own operation token and returns 1 again.
--
-- KEYS[1] job hash
-- KEYS[2] the registry the job is in
-- KEYS[3] queue list
-- KEYS[4] wake channel of the queue
-- ARGV[1] job id
-- ARGV[2] "1" to push at the front of the queue, else "0"
-- ARGV[3] run token that must hold the job, or "" to skip that check
-- ARGV[4] operation token of this call
-- Returns 1 when moved, 0 if the id was not in that registry (or not held by that run).
-- @include lib_time
-- @include lib_limit_slots
if redis.call('HGET', KEYS[1], 'op') == ARGV[4] then
  return 1
end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'run') ~= ARGV[3] then
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('ZSCORE', KEYS[2], ARGV[1]) == false then
  return 0
end
redis.call('ZREM', KEYS[2], ARGV[1])
release_limit_slot(KEYS[1], ARGV[1], redis.call('HGET', KEYS[1], 'limit_slot'))
redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_ms', redis_now_ms(), 'op', ARGV[4])
redis.call('HDEL', KEYS[1], 'ended_ms', 'result', 'worker', 'started_ms', 'run')
redis.call('PERSIST', KEYS[1])
local length
if ARGV[2] == '1' then
  length = redis.call('LPUSH', KEYS[3], ARGV[1])
else
  length = redis.call('RPUSH', KEYS[3], ARGV[1])
end
if length == 1 then
  redis.call('PUBLISH', KEYS[4], '1')
end
return 1
