-- Save a job and push its id onto its queue as one step: no id is ever queued without
-- its hash, and no hash is written without a place in a queue.
--
-- KEYS[1] job hash
-- KEYS[2] queue list
-- KEYS[3] set of queue names
-- KEYS[4] wake channel of the queue
-- ARGV[1] job id
-- ARGV[2] queue name
-- ARGV[3] "1" to push at the front of the queue, else "0"
-- ARGV[4] seconds the queued job may wait before it expires, "0" for no limit
-- ARGV[5] "1" to replace a job hash of the same id (a caller-chosen id), else "0"
-- ARGV[6..] field, value pairs of the job hash
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
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
redis.call('SADD', KEYS[3], ARGV[2])
-- Idle workers wait only after seeing their queues empty, so only a push onto an empty
-- queue needs to wake them.
if length == 1 then
  redis.call('PUBLISH', KEYS[4], '1')
end
return 1
