-- Save a job and push its id onto its queue, or defer it until its parents are done, as
-- one step: no id is ever queued without its hash, and no hash is written without a place.
-- One id, one place: while a live job (queued, scheduled, deferred, started) has the id,
-- nothing is written and the caller is told where it is; a job that ended (finished,
-- failed, stopped, canceled) is replaced and leaves its old registry in the same step.
-- The parents are checked in the same step that defers the job: a parent that finishes
-- concurrently is either seen finished here, or finds this job among its dependents when
-- it finishes (finish.lua), never neither.
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
-- ARGV[5] operation token of this enqueue (a second run of the same call is recognised)
-- ARGV[6] "1" if failed or stopped parents count as done (allow_failure), else "0"
-- ARGV[7] key prefix, to reach the registry of a replaced job (see lib_replace.lua)
-- ARGV[8] "1" if the id may name a hash (the caller chose it, or this is a
--         resend after a lost reply), else "0"
-- ARGV[9] number of parents n
-- ARGV[10..9+n] parent ids, in the order of their KEYS
-- ARGV[10+n..] field, value pairs of the job hash, status "queued" among them
--
-- Returns {1, ""} when queued, {2, ""} when deferred, {0, status, queue} when refused
-- because a live job has the id.
-- @include lib_time
-- @include lib_replace
-- @include lib_enqueue
local ttl = whole(ARGV[4])
local n = whole(ARGV[9])
if ttl == nil or n == nil then
  return redis.error_reply('ERR minirq: bad ttl or parent count')
end
local reply = nil
if n == 0 and ARGV[8] ~= '1' then
  -- A drawn id on its first send, without parents (nearly every enqueue): no hash can
  -- have it and nothing to wait for, so store_job would only write the hash.
  redis.call('HSET', KEYS[1], 'op', ARGV[5], unpack(ARGV, 10))
else
  local parents = {}
  for i = 1, n do
    parents[i] = {ARGV[9 + i], KEYS[5 + 2 * i], KEYS[6 + 2 * i]}
  end
  reply = store_job(
    KEYS[1], ARGV[1], ARGV[5], ARGV[8], ARGV[7], parents, ARGV[6] == '1', KEYS[6], KEYS[5],
    ARGV, 10 + n, #ARGV
  )
end
if reply then
  if reply[1] == 2 then
    redis.call('SADD', KEYS[3], ARGV[2])
  end
  return reply
end
redis.call('SADD', KEYS[3], ARGV[2])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
end
local length
if ARGV[3] == '1' then
  length = redis.call('LPUSH', KEYS[2], ARGV[1])
else
  length = redis.call('RPUSH', KEYS[2], ARGV[1])
end
-- Idle workers wait only after seeing their queues empty, so only a push onto an empty
-- queue needs to wake them.
if length == 1 then
  redis.call('PUBLISH', KEYS[4], '1')
end
return {1, ''}
