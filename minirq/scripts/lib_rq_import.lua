-- Library, not a script: rq_import.lua and rq_move.lua include it, after lib_time and
-- lib_replace.
--
-- import_rq_job(p): write the job described by ARGV into its place under minirq's keys,
-- as those scripts' headers list KEYS[1..10] and ARGV; p is the index in KEYS of the
-- first parent's hash. One id, one place, as in enqueue.lua: a live job of the id refuses
-- the import ({0, status, queue}), an ended one is replaced. A job this import already
-- wrote (its op token names RQ's created_at) is recognised: {2, ""}, nothing written.
-- A deferred job waits for each parent that is here and not done, and for each parent
-- that is not here but not done in RQ (it comes with the import: KEYS[10], the set of a
-- job's dependents, marks it when it arrives); with none left it is queued.
-- Returns {1, status written} when imported.
local RQ_IMPORT_PLACES = {
  queued = true, scheduled = true, deferred = true, failed = true, stopped = true,
}

local function import_rq_job(p)
  local ttl = whole(ARGV[5])
  local n = whole(ARGV[10])
  local status = ARGV[3]
  local score = ARGV[4]
  if ttl == nil or n == nil or not RQ_IMPORT_PLACES[status] or
      ((status == 'scheduled' or status == 'failed' or status == 'stopped') and
        whole(score) == nil and score ~= '+inf') then
    return redis.error_reply('ERR minirq: bad ttl, status, score or parent count')
  end
  local id, queue, op = ARGV[1], ARGV[2], 'rqimport:' .. ARGV[6]
  local seen = replace_ended(KEYS[1], ARGV[7], id, op, '1')
  if seen then
    if seen[1] == 0 then
      return seen
    end
    return {2, ''}
  end
  local now = redis_now_ms()
  if status == 'deferred' then
    local waiting = 0
    for i = 1, n do
      local parent_key = KEYS[p + 2 * i - 2]
      local parent = redis.call('HGET', parent_key, 'status')
      local done
      if parent then
        done = parent == 'finished' or
          (ARGV[9] == '1' and (parent == 'failed' or parent == 'stopped'))
      else
        done = ARGV[11 + 2 * i - 1] == '1'
      end
      if not done then
        redis.call('SADD', KEYS[9], ARGV[11 + 2 * i - 2])
        redis.call('SADD', KEYS[p + 2 * i - 1], id)
        if parent then
          redis.call('HSET', parent_key, 'has_dependents', '1')
        end
        waiting = waiting + 1
      end
    end
    if waiting == 0 then
      status = 'queued'
    end
  end
  redis.call('HSET', KEYS[1], 'op', op, unpack(ARGV, 11 + 2 * n))
  redis.call('HSET', KEYS[1], 'status', status)
  if redis.call('EXISTS', KEYS[10]) == 1 then
    redis.call('HSET', KEYS[1], 'has_dependents', '1')
  end
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
  end
  redis.call('SADD', KEYS[8], queue)
  if status == 'queued' then
    if ARGV[3] == 'deferred' then
      redis.call('HSET', KEYS[1], 'enqueued_ms', now)
    end
    if redis.call('RPUSH', KEYS[2], id) == 1 then
      redis.call('PUBLISH', KEYS[3], '1')
    end
  elseif status == 'scheduled' then
    redis.call('ZADD', KEYS[4], score, id)
    local head = redis.call('ZRANGE', KEYS[4], 0, 0)
    if head[1] == id then
      redis.call('PUBLISH', KEYS[5], score)
    end
  elseif status == 'deferred' then
    redis.call('ZADD', KEYS[6], now, id)
  else
    redis.call('ZADD', KEYS[7], score, id)
  end
  return {1, status}
end
