-- Empty a queue: delete up to ARGV[2] of its jobs and their ids as one step, so that a job
-- enqueued meanwhile is either kept whole or deleted whole. Returns how many were deleted;
-- the caller repeats until 0 so that a huge queue never blocks Redis for long.
--
-- KEYS[1] queue list
-- ARGV[1] job key prefix (the id is appended; on Cluster the prefix needs a hash tag)
-- ARGV[2] batch size
local ids = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)
for _, id in ipairs(ids) do
  redis.call('DEL', ARGV[1] .. id)
end
if #ids > 0 then
  redis.call('LTRIM', KEYS[1], #ids, -1)
end
return #ids
