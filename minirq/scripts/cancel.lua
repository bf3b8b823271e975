-- Cancel a job that waits in its queue, the scheduled set or the deferred set: take it out
-- and record it in the canceled registry as one step, so that a worker cannot start it in
-- between. Its dependents stay deferred (as in RQ), unless ARGV[4] asks to enqueue those
-- that wait for nothing else, in the same step. Returns 0 if the job was in none of those
-- places (running or done).
--
-- KEYS[1] job hash
-- KEYS[2] queue list
-- KEYS[3] scheduled registry
-- KEYS[4] deferred registry
-- KEYS[5] canceled registry
-- KEYS[6] set of the parents the job waits for (dropped: a canceled job waits no more)
-- ARGV[1] job id
-- ARGV[2] now, epoch milliseconds
-- ARGV[3] seconds to keep the canceled job, -1 to keep it
-- ARGV[4] "1" to enqueue the job's dependents as if it had finished, else "0"
-- ARGV[5] key prefix, read only for a job that has dependents (see lib_dependents.lua)
-- @include lib_dependents
if redis.call('LREM', KEYS[2], 0, ARGV[1]) == 0 and
    redis.call('ZREM', KEYS[3], ARGV[1]) == 0 and
    redis.call('ZREM', KEYS[4], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'status', 'canceled', 'ended_ms', ARGV[2])
if KEYS[6] then
  redis.call('DEL', KEYS[6])
end
local ttl = tonumber(ARGV[3])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[5], tonumber(ARGV[2]) + ttl * 1000, ARGV[1])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[5], '+inf', ARGV[1])
end
if ARGV[4] == '1' and redis.call('HGET', KEYS[1], 'has_dependents') == '1' then
  release_dependents(ARGV[5], ARGV[1], ARGV[2], true)
end
return 1
