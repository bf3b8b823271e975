-- Recover jobs whose lease ran out because their worker stopped heartbeating. Each is
-- put back at the front of its queue with its orphaning counted, or, once it has been
-- orphaned too often, sent to failed with a reason a person can read. One step per call,
-- so a job is never both requeued and failed, nor recovered twice.
--
-- KEYS[4i-3] started registry of the i-th queue
-- KEYS[4i-2] queue list
-- KEYS[4i-1] failed registry
-- KEYS[4i]   wake channel of the queue
-- ARGV[1] now, epoch milliseconds
-- ARGV[2] job key prefix (the id is appended; on Cluster the prefix needs a hash tag)
-- ARGV[3] orphanings after which a job fails
-- ARGV[4] now as ISO 8601 text, for the failure reason
-- ARGV[5] at most this many jobs per queue per call
-- ARGV[6] failure ttl in seconds when the job has none of its own
-- ARGV[7] key prefix, read only for a failed job that has dependents (lib_dependents.lua)
-- @include lib_dependents
--
-- Returns {requeued ids, failed ids}.
local requeued, failed = {}, {}
local max_orphanings = tonumber(ARGV[3])
for i = 1, #KEYS, 4 do
  local ids = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', ARGV[1], 'LIMIT', 0, ARGV[5])
  for _, id in ipairs(ids) do
    redis.call('ZREM', KEYS[i], id)
    local job_key = ARGV[2] .. id
    if redis.call('EXISTS', job_key) == 1 then
      local count = redis.call('HINCRBY', job_key, 'orphaned', 1)
      local worker = redis.call('HGET', job_key, 'worker') or '?'
      if count >= max_orphanings then
        local reason = 'abandoned: worker ' .. worker .. ' stopped heartbeating; its lease ' ..
          'had expired at ' .. ARGV[4] .. '. The job lost its worker ' .. count ..
          ' times and is not retried again.'
        redis.call('HSET', job_key, 'status', 'failed', 'ended_ms', ARGV[1], 'exc', reason)
        local ttl = tonumber(redis.call('HGET', job_key, 'failure_ttl') or ARGV[6])
        if ttl > 0 then
          redis.call('EXPIRE', job_key, ttl)
          redis.call('ZADD', KEYS[i + 2], tonumber(ARGV[1]) + ttl * 1000, id)
        else
          redis.call('ZADD', KEYS[i + 2], '+inf', id)
        end
        if redis.call('HGET', job_key, 'has_dependents') == '1' then
          release_dependents(ARGV[7], id, ARGV[1], false)
        end
        failed[#failed + 1] = id
      else
        redis.call('HSET', job_key, 'status', 'queued', 'enqueued_ms', ARGV[1])
        if redis.call('LPUSH', KEYS[i + 1], id) == 1 then
          redis.call('PUBLISH', KEYS[i + 3], '1')
        end
        requeued[#requeued + 1] = id
      end
    end
  end
end
return {requeued, failed}
