-- Cancel a job that waits in its queue, the scheduled set or the deferred set: take it out
-- and record it in the canceled registry as one step, so that a worker cannot start it in
-- between. Its dependents stay deferred (as in RQ), unless ARGV[3] asks to enqueue those
-- that wait for nothing else, in the same step. A second run of the same call (its reply
-- was lost) finds its own operation token and returns 1 again.
--
-- KEYS[1] job hash
-- KEYS[2] queue list
-- KEYS[3] scheduled registry
-- KEYS[4] deferred registry
-- KEYS[5] canceled registry
-- KEYS[6] set of the parents the job waits for (dropped: a canceled job waits no more)
-- ARGV[1] job id
-- ARGV[2] seconds to keep the canceled job, -1 to keep it
-- ARGV[3] "1" to enqueue the job's dependents as if it had finished, else "0"
-- ARGV[4] key prefix, read only for a job that has dependents (see lib_dependents.lua) or
--         with ARGV[6]
-- ARGV[5] operation token of this call
-- ARGV[6] "1" to take the job off the dependents sets of the parents it waits for (RQ's
--         remove_from_dependencies; built from the prefix: one slot per prefix on
--         Cluster), else "0"
-- Returns 1 when canceled, 0 if the job was in none of those places (running or done).
-- @include lib_time
-- @include lib_dependents
local ttl = whole(ARGV[2])
if ttl == nil then
  return redis.error_reply('ERR minirq: bad ttl')
end
if redis.call('HGET', KEYS[1], 'op') == ARGV[5] then
  return 1
end
if redis.call('LREM', KEYS[2], 0, ARGV[1]) == 0 and
    redis.call('ZREM', KEYS[3], ARGV[1]) == 0 and
    redis.call('ZREM', KEYS[4], ARGV[1]) == 0 then
  return 0
end
local now = redis_now_ms()
redis.call('HSET', KEYS[1], 'status', 'canceled', 'ended_ms', now, 'op', ARGV[5])
if ARGV[6] == '1' then
  for _, parent in ipairs(redis.call('SMEMBERS', KEYS[6])) do
    redis.call('SREM', ARGV[4] .. ':dependents:' .. parent, ARGV[1])
  end
end
redis.call('DEL', KEYS[6])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[5], now + ttl * 1000, ARGV[1])
else
  redis.call('PERSIST', KEYS[1])
  redis.call('ZADD', KEYS[5], '+inf', ARGV[1])
end
if ARGV[3] == '1' and redis.call('HGET', KEYS[1], 'has_dependents') == '1' then
  release_dependents(ARGV[4], ARGV[1], now, true)
end
return 1
