-- Enqueue a job that is unique or depends on other jobs, as one step. A unique job is
-- refused while a live job has its id. The parents are checked in the same step that
-- defers the job: a parent that finishes concurrently is either seen finished here, or
-- finds this job among its dependents when it finishes (finish.lua), never neither.
--
-- KEYS[1] job hash
-- KEYS[2] queue list
-- KEYS[3] set of queue names
-- KEYS[4] wake channel of the queue
-- KEYS[5] deferred registry of the queue
-- KEYS[6] set of the parents this job still waits for
-- KEYS[5+2i] hash of the i-th parent; KEYS[6+2i] set of that parent's dependents
-- ARGV[1] job id
-- ARGV[2] queue name
-- ARGV[3] "1" to push at the front of the queue, else "0"
-- ARGV[4] seconds the queued job may wait before it expires, "0" for no limit
-- ARGV[5] "1" to replace a job hash of the same id (a caller-chosen id), else "0"
-- ARGV[6] "1" to refuse the job while a live job has its id (unique), else "0"
-- ARGV[7] now, epoch milliseconds
-- ARGV[8] "1" if failed or stopped parents count as done (allow_failure), else "0"
-- ARGV[9] number of parents n
-- ARGV[10..9+n] parent ids, in the order of their KEYS
-- ARGV[10+n..] field, value pairs of the job hash
--
-- Returns {1, ""} when queued, {2, ""} when deferred, {0, status} when refused as a
-- duplicate of a live job in that status.
if ARGV[6] == '1' then
  local status = redis.call('HGET', KEYS[1], 'status')
  if status == 'queued' or status == 'started' or status == 'scheduled' or
      status == 'deferred' then
    return {0, status}
  end
end
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[1], KEYS[6])
end
local n = tonumber(ARGV[9])
redis.call('HSET', KEYS[1], unpack(ARGV, 10 + n))
redis.call('SADD', KEYS[3], ARGV[2])
local waiting = 0
for i = 1, n do
  local parent_key = KEYS[5 + 2 * i]
  local status = redis.call('HGET', parent_key, 'status')
  -- A missing parent finished and was deleted (result_ttl=0), or was deleted on purpose.
  local done = (not status) or status == 'finished' or
    (ARGV[8] == '1' and (status == 'failed' or status == 'stopped'))
  if not done then
    redis.call('SADD', KEYS[6], ARGV[9 + i])
    redis.call('SADD', KEYS[6 + 2 * i], ARGV[1])
    redis.call('HSET', parent_key, 'has_dependents', '1')
    waiting = waiting + 1
  end
end
if waiting > 0 then
  redis.call('HSET', KEYS[1], 'status', 'deferred')
  redis.call('HDEL', KEYS[1], 'enqueued_ms')
  redis.call('ZADD', KEYS[5], ARGV[7], ARGV[1])
  return {2, ''}
end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
end
local length
if ARGV[3] == '1' then
  length = redis.call('LPUSH', KEYS[2], ARGV[1])
else
  length = redis.call('RPUSH', KEYS[2], ARGV[1])
end
if length == 1 then
  redis.call('PUBLISH', KEYS[4], '1')
end
return {1, ''}
