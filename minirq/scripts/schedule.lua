-- Save a job and add it to its queue's scheduled set, as one step: no scheduled id ever
-- lacks its hash, and no hash is written without its place in the set.
--
-- KEYS[1] job hash
-- KEYS[2] scheduled registry of the queue (score = due time, epoch milliseconds)
-- KEYS[3] set of queue names
-- KEYS[4] the schedulers' wake channel
-- ARGV[1] job id
-- ARGV[2] queue name
-- ARGV[3] due time, epoch milliseconds
-- ARGV[4] seconds the job may wait once due before it expires, "0" for no limit
-- ARGV[5] "1" to replace a job hash of the same id (a caller-chosen id), else "0"
-- ARGV[6..] field, value pairs of the job hash
--
-- Returns 1, or the status of the live job a unique job was refused for.
for i = 6, #ARGV, 2 do
  -- A unique job (enqueue_checked.lua) is refused while a live job has its id.
  if ARGV[i] == 'unique' then
    local status = redis.call('HGET', KEYS[1], 'status')
    if status == 'queued' or status == 'started' or status == 'scheduled' or
        status == 'deferred' then
      return status
    end
    break
  end
end
if ARGV[5] == '1' then
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('PEXPIREAT', KEYS[1], tonumber(ARGV[3]) + ttl * 1000)
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
-- A sleeping scheduler only needs waking when this job is now the earliest of its set.
local head = redis.call('ZRANGE', KEYS[2], 0, 0)
if head[1] == ARGV[1] then
  redis.call('PUBLISH', KEYS[4], ARGV[3])
end
return 1
