-- Enqueue one slot of a cron entry (or only advance the entry past skipped slots), as
-- one step, and only if: the caller holds the scheduler lease, the entry still expects
-- this slot (no other scheduler advanced it), and the slot's idempotency key is new.
-- Together these make each slot enqueued once however many schedulers run.
--
-- KEYS[1] the scheduler lease
-- KEYS[2] sorted set of cron entries, scored by next run
-- KEYS[3] the entry's hash
-- KEYS[4] the slot's idempotency key
-- KEYS[5] the new job's hash
-- KEYS[6] queue list
-- KEYS[7] set of queue names
-- KEYS[8] wake channel of the queue
-- ARGV[1] the caller's lease value
-- ARGV[2] entry name
-- ARGV[3] the entry's next run the caller read (epoch ms)
-- ARGV[4] the entry's next run after this call (epoch ms)
-- ARGV[5] the slot to enqueue (epoch ms), or "" to only advance
-- ARGV[6] idempotency key lifetime in milliseconds
-- ARGV[7] job id
-- ARGV[8] queue name
-- ARGV[9] seconds the queued job may wait before it expires, "0" for no limit
-- ARGV[10] "" for now on Redis's clock, or a time (epoch ms) to use instead (tests)
-- ARGV[11..] field, value pairs of the job hash
-- Returns -1 without the lease, 0 if the entry moved on or the slot was taken, else 1.
-- An entry that moved on gets its score back in line with its hash (or leaves the set if
-- its hash is gone or broken), so that a stale score can never make it due again and again.
-- @include lib_time
if whole(ARGV[4]) == nil or whole(ARGV[6]) == nil or whole(ARGV[9]) == nil then
  return redis.error_reply('ERR minirq: bad cron arguments')
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local stored = redis.call('HGET', KEYS[3], 'next_ms')
if stored ~= ARGV[3] then
  if whole(stored) then
    redis.call('ZADD', KEYS[2], stored, ARGV[2])
  else
    redis.call('ZREM', KEYS[2], ARGV[2])
  end
  return 0
end
-- A scheduler whose clock runs ahead must not enqueue a slot that is not due yet.
if ARGV[5] ~= '' and tonumber(ARGV[5]) > (whole(ARGV[10]) or redis_now_ms()) then
  return 0
end
redis.call('HSET', KEYS[3], 'next_ms', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[2])
if ARGV[5] == '' then
  return 1
end
if not redis.call('SET', KEYS[4], ARGV[7], 'NX', 'PX', tonumber(ARGV[6])) then
  return 0
end
redis.call('HSET', KEYS[5], unpack(ARGV, 11))
local ttl = tonumber(ARGV[9])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[5], ttl)
end
local length
if redis.call('HGET', KEYS[5], 'at_front') == '1' then
  length = redis.call('LPUSH', KEYS[6], ARGV[7])
else
  length = redis.call('RPUSH', KEYS[6], ARGV[7])
end
redis.call('SADD', KEYS[7], ARGV[8])
if length == 1 then
  redis.call('PUBLISH', KEYS[8], '1')
end
redis.call('HSET', KEYS[3], 'last_ms', ARGV[5], 'last_job_id', ARGV[7])
return 1
