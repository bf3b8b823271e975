-- Save a job and add it to its queue's scheduled set, as one step: no scheduled id ever
-- lacks its hash, and no hash is written without its place in the set. One id, one place,
-- as in enqueue.lua.
--
-- KEYS[1] job hash
-- KEYS[2] scheduled registry of the queue (score = due time, epoch milliseconds)
-- KEYS[3] set of queue names
-- KEYS[4] the schedulers' wake channel
-- ARGV[1] job id
-- ARGV[2] queue name
-- ARGV[3] due time, epoch milliseconds, or "" to be due ARGV[4] ms from now (Redis's clock)
-- ARGV[4] delay in milliseconds, used when ARGV[3] is ""
-- ARGV[5] seconds the job may wait once due before it expires, "0" for no limit
-- ARGV[6] operation token of this call
-- ARGV[7] key prefix, to reach the registry of a replaced job (see lib_replace.lua)
-- ARGV[8] "1" if the id may name a hash (the caller chose it, or this is a
--         resend after a lost reply), else "0"
-- ARGV[9..] field, value pairs of the job hash
--
-- Returns {1, "", due} when scheduled, {0, status, queue} when refused because a live
-- job has the id.
-- @include lib_time
-- @include lib_replace
local ttl = whole(ARGV[5])
local due = whole(ARGV[3])
local delay = whole(ARGV[4])
if ttl == nil or (due == nil and delay == nil) then
  return redis.error_reply('ERR minirq: bad due time or ttl')
end
local seen = replace_ended(KEYS[1], ARGV[7], ARGV[1], ARGV[6], ARGV[8])
if seen then
  if seen[1] == 1 then
    return {1, '', redis.call('ZSCORE', KEYS[2], ARGV[1]) or ''}
  end
  return seen
end
local now = redis_now_ms()
if due == nil then
  due = now + delay
end
redis.call('HSET', KEYS[1], 'op', ARGV[6], unpack(ARGV, 9))
if ttl > 0 then
  redis.call('PEXPIREAT', KEYS[1], math.max(due, now) + ttl * 1000)
end
redis.call('ZADD', KEYS[2], due, ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
-- A sleeping scheduler only needs waking when this job is now the earliest of its set.
local head = redis.call('ZRANGE', KEYS[2], 0, 0)
if head[1] == ARGV[1] then
  redis.call('PUBLISH', KEYS[4], due)
end
return {1, '', tostring(due)}
