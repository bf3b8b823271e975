-- Recover jobs whose lease ran out (on Redis's clock) because their worker stopped
-- heartbeating. Each is put back at the front of its queue with its orphaning counted,
-- or, once it has been orphaned too often, sent to failed with a reason a person can
-- read. One step per call, so a job is never both requeued and failed, nor recovered
-- twice; the run token is dropped, so the run that lost the lease can record nothing.
--
-- KEYS[4i-3] started registry of the i-th queue
-- KEYS[4i-2] queue list
-- KEYS[4i-1] failed registry
-- KEYS[4i]   wake channel of the queue
-- ARGV[1] job key prefix (the id is appended; on Cluster the prefix needs a hash tag)
-- ARGV[2] orphanings after which a job fails
-- ARGV[3] at most this many jobs per queue per call
-- ARGV[4] failure ttl in seconds when the job has none of its own (or a broken one)
-- ARGV[5] key prefix, read only for a failed job that has dependents (lib_dependents.lua)
-- ARGV[6] the longest failure ttl in seconds a job may have
-- ARGV[7] result channel prefix (the id is appended), for a job someone waits on
-- @include lib_time
-- @include lib_dependents
--
-- Returns {requeued ids, failed ids, keys skipped because they are not sorted sets}.
local max_orphanings, limit = whole(ARGV[2]), whole(ARGV[3])
local default_ttl, max_ttl = whole(ARGV[4]), whole(ARGV[6])
if not (max_orphanings and limit and default_ttl and max_ttl) then
  return redis.error_reply('ERR minirq: bad reaper arguments')
end
local now = redis_now_ms()
local requeued, failed, broken = {}, {}, {}
local function usable(key, kind)
  local found = redis.call('TYPE', key).ok
  if found == kind or found == 'none' then
    return true
  end
  broken[#broken + 1] = key
  return false
end
for i = 1, #KEYS, 4 do
  local ids = {}
  -- Check every key first: a job must not leave its lease for a place it cannot enter.
  if usable(KEYS[i], 'zset') and usable(KEYS[i + 1], 'list') and usable(KEYS[i + 2], 'zset') then
    ids = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', now, 'LIMIT', 0, limit)
  end
  for _, id in ipairs(ids) do
    local job_key = ARGV[1] .. id
    local kind = redis.call('TYPE', job_key).ok
    redis.call('ZREM', KEYS[i], id)
    if kind == 'hash' then
      local f = redis.call('HMGET', job_key, 'orphaned', 'worker', 'failure_ttl', 'run', 'waited')
      local count = (whole(f[1]) or 0) + 1
      redis.call('HSET', job_key, 'orphaned', count)
      redis.call('HDEL', job_key, 'run')
      if count >= max_orphanings then
        local reason = 'AbandonedJobError: worker ' .. (f[2] or '?') .. ' stopped heartbeating ' ..
          'and its lease had expired. The job lost its worker ' .. count ..
          ' times and is not retried again.'
        redis.call('HSET', job_key, 'status', 'failed', 'ended_ms', now, 'exc', reason)
        local ttl = whole(f[3]) or default_ttl
        if ttl > max_ttl then
          ttl = max_ttl
        end
        if ttl > 0 then
          redis.call('EXPIRE', job_key, ttl)
          redis.call('ZADD', KEYS[i + 2], now + ttl * 1000, id)
        else
          redis.call('ZADD', KEYS[i + 2], '+inf', id)
        end
        if redis.call('HGET', job_key, 'has_dependents') == '1' then
          release_dependents(ARGV[5], id, now, false)
        end
        if f[5] then
          redis.call('PUBLISH', ARGV[7] .. id, 'failed')
        end
        failed[#failed + 1] = id
      else
        redis.call('HSET', job_key, 'status', 'queued', 'enqueued_ms', now)
        if redis.call('LPUSH', KEYS[i + 1], id) == 1 then
          redis.call('PUBLISH', KEYS[i + 3], '1')
        end
        requeued[#requeued + 1] = id
      end
    end
  end
end
return {requeued, failed, broken}
