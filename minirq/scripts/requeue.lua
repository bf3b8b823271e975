-- Move a job from one of its queue's registries (failed, canceled, started, ...) back
-- onto the queue as one step. Returns 0 if the id was not in that registry.
--
-- KEYS[1] job hash
-- KEYS[2] the registry the job is in
-- KEYS[3] queue list
-- KEYS[4] wake channel of the queue
-- ARGV[1] job id
-- ARGV[2] now, epoch milliseconds
-- ARGV[3] "1" to push at the front of the queue, else "0"
-- ARGV[4] worker name that must hold the job, or "" to skip that check
if ARGV[4] ~= '' and redis.call('HGET', KEYS[1], 'worker') ~= ARGV[4] then
  return 0
end
if redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_ms', ARGV[2])
redis.call('HDEL', KEYS[1], 'ended_ms', 'result', 'worker', 'started_ms')
redis.call('PERSIST', KEYS[1])
local length
if ARGV[3] == '1' then
  length = redis.call('LPUSH', KEYS[3], ARGV[1])
else
  length = redis.call('RPUSH', KEYS[3], ARGV[1])
end
if length == 1 then
  redis.call('PUBLISH', KEYS[4], '1')
end
return 1
