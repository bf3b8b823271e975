-- Take the first id of the first non-empty queue (strict priority order), lease it in
-- that queue's started registry and mark the job started, as one step: a worker that
-- dies at any instant leaves the id either in its queue or under a lease the reaper
-- will recover, never only in the worker's memory.
--
-- KEYS[2i-1] queue list of the i-th queue, in priority order
-- KEYS[2i]   started registry of the i-th queue
-- ARGV[1] now, epoch milliseconds
-- ARGV[2] lease deadline, epoch milliseconds
-- ARGV[3] worker name
-- ARGV[4] job key prefix (the id is appended; on Cluster the prefix needs a hash tag)
--
-- Returns {queue index (1-based, 0 if nothing was taken), job id, job fields as a flat
-- list, ids whose hash had vanished (expired or deleted) and were dropped}.
local dropped = {}
for i = 1, #KEYS, 2 do
  while true do
    local id = redis.call('LPOP', KEYS[i])
    if not id then
      break
    end
    local job_key = ARGV[4] .. id
    local fields = redis.call('HGETALL', job_key)
    if #fields == 0 then
      dropped[#dropped + 1] = id
    else
      redis.call('HSET', job_key, 'status', 'started', 'started_ms', ARGV[1], 'worker', ARGV[3])
      -- The caller runs the job from these fields: they must show this run, not the last.
      local updates = {status = 'started', started_ms = ARGV[1], worker = ARGV[3]}
      for f = 1, #fields, 2 do
        local value = updates[fields[f]]
        if value then
          fields[f + 1] = value
          updates[fields[f]] = nil
        end
      end
      for name, value in pairs(updates) do
        fields[#fields + 1] = name
        fields[#fields + 1] = value
      end
      redis.call('ZADD', KEYS[i + 1], ARGV[2], id)
      for f = 1, #fields, 2 do
        if fields[f] == 'ttl' then
          redis.call('PERSIST', job_key)
          break
        end
      end
      return {(i + 1) / 2, id, fields, dropped}
    end
  end
end
return {0, '', {}, dropped}
