-- Move one batch of due jobs from a queue's scheduled set onto the queue, as one step,
-- and only for the scheduler that holds the lease: a scheduler that lost its lease
-- mid-pass (paused, partitioned) must not enqueue what its successor already moved.
-- "Due" is on Redis's clock, so a scheduler whose clock runs ahead never starts a job
-- early.
--
-- KEYS[1] the scheduler lease
-- KEYS[2] scheduled registry of the queue
-- KEYS[3] queue list
-- KEYS[4] wake channel of the queue
-- ARGV[1] the caller's lease value ("<fencing token>:<holder>")
-- ARGV[2] "" for now on Redis's clock, or a time (epoch ms) to use instead (tests)
-- ARGV[3] batch size
-- ARGV[4] job key prefix
-- Job hashes are reached through ARGV[4]: on Redis Cluster this needs every key of the
-- prefix in one slot (a hash-tagged prefix such as "{myapp}").
-- Returns -1 if the caller does not hold the lease, -2 if the set or the queue is not of
-- its type (nothing moved), else how many ids left the set.
-- @include lib_time
local batch = whole(ARGV[3])
if batch == nil then
  return redis.error_reply('ERR minirq: bad batch size')
end
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return -1
end
local set_kind, list_kind = redis.call('TYPE', KEYS[2]).ok, redis.call('TYPE', KEYS[3]).ok
if (set_kind ~= 'zset' and set_kind ~= 'none') or (list_kind ~= 'list' and list_kind ~= 'none') then
  return -2
end
local now = whole(ARGV[2]) or redis_now_ms()
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, batch)
if #ids == 0 then
  return 0
end
local was_empty = redis.call('LLEN', KEYS[3]) == 0
local pushed = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[2], id)
  local job_key = ARGV[4] .. id
  -- A job whose hash expired or was deleted (or is not a hash) is dropped with its id.
  if redis.call('TYPE', job_key).ok == 'hash' then
    redis.call('HSET', job_key, 'status', 'queued', 'enqueued_ms', now)
    if redis.call('HGET', job_key, 'at_front') == '1' then
      redis.call('LPUSH', KEYS[3], id)
    else
      redis.call('RPUSH', KEYS[3], id)
    end
    pushed = pushed + 1
  end
end
if was_empty and pushed > 0 then
  redis.call('PUBLISH', KEYS[4], '1')
end
return #ids
