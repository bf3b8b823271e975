-- Empty a registry (failed, finished, canceled, scheduled, deferred): delete up to ARGV[2]
-- of its jobs and their entries as one step, so that a job moving out of the registry
-- meanwhile (requeued, enqueued by the scheduler) is never deleted after it has left.
-- Returns how many entries were removed; the caller repeats until 0 so that a huge
-- registry never blocks Redis for long.
--
-- KEYS[1] registry sorted set
-- ARGV[1] job key prefix (the id is appended; on Cluster the prefix needs a hash tag)
-- ARGV[2] batch size
local ids = redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[1] .. id)
end
if #ids > 0 then
  redis.call('ZREM', KEYS[1], unpack(ids))
end
return #ids
