-- Take the first id of the first non-empty queue (strict priority order), lease it in
-- that queue's started registry and mark the job started, as one step: a worker that
-- dies at any instant leaves the id either in its queue or under a lease the reaper
-- will recover, never only in the worker's memory. The lease deadline is on Redis's
-- clock. The run token names this run: finish, fail and heartbeats must present it.
-- A receipt (KEYS[1]) remembers what this call took, so that a second run of the same
-- call (its reply was lost) answers the same job instead of leasing another one.
--
-- KEYS[1] the receipt of this fetch
-- KEYS[2i] queue list of the i-th queue, in priority order
-- KEYS[2i+1] started registry of the i-th queue
-- ARGV[1] lease length, milliseconds
-- ARGV[2] worker name
-- ARGV[3] run token (new for each fetch)
-- ARGV[4] job key prefix (the id is appended; on Cluster the prefix needs a hash tag)
--
-- Returns {queue index (1-based, 0 if nothing was taken), job id, job fields as a flat
-- list, ids dropped (hash gone, or not an id minirq writes), keys that are not of the
-- type a queue or registry has (skipped)}.
-- @include lib_time
local lease_ms = whole(ARGV[1])
if lease_ms == nil then
  return redis.error_reply('ERR minirq: bad lease length')
end
local dropped, broken = {}, {}
local receipt = redis.call('GET', KEYS[1])
if receipt then
  local index, id = string.match(receipt, '^(%d+):(.*)$')
  local job_key = ARGV[4] .. id
  if redis.call('HGET', job_key, 'run') == ARGV[3] and
      redis.call('HGET', job_key, 'status') == 'started' then
    return {tonumber(index), id, redis.call('HGETALL', job_key), dropped, broken}
  end
  return {0, '', {}, dropped, broken}
end
local now = redis_now_ms()
for i = 2, #KEYS, 2 do
  local usable = true
  while usable do
    local id = redis.pcall('LPOP', KEYS[i])
    if type(id) == 'table' and id.err then
      broken[#broken + 1] = KEYS[i]
      break
    end
    if not id then
      break
    end
    local job_key = ARGV[4] .. id
    local fields = {}
    if string.match(id, '^[%w_.:-]+$') then
      fields = redis.pcall('HGETALL', job_key)
      if fields.err then
        fields = {}
      end
    end
    local leased = #fields > 0 and redis.pcall('ZADD', KEYS[i + 1], now + lease_ms, id)
    if type(leased) == 'table' and leased.err then
      -- The started registry is not a sorted set: the id goes back where it was and the
      -- queue is left alone, before anything else is written.
      redis.call('LPUSH', KEYS[i], id)
      broken[#broken + 1] = KEYS[i + 1]
      usable = false
    elseif #fields == 0 then
      dropped[#dropped + 1] = id
    else
      local started = string.format('%d', now)
      redis.call('HSET', job_key, 'status', 'started', 'started_ms', started, 'worker', ARGV[2],
        'run', ARGV[3])
      -- The caller runs the job from these fields: they must show this run, not the last.
      local updates = {status = 'started', started_ms = started, worker = ARGV[2], run = ARGV[3]}
      local has_ttl = false
      for f = 1, #fields, 2 do
        local value = updates[fields[f]]
        if value then
          fields[f + 1] = value
          updates[fields[f]] = nil
        end
        if fields[f] == 'ttl' then
          has_ttl = true
        end
      end
      for name, value in pairs(updates) do
        fields[#fields + 1] = name
        fields[#fields + 1] = value
      end
      if has_ttl then
        redis.call('PERSIST', job_key)
      end
      redis.call('SET', KEYS[1], (i / 2) .. ':' .. id, 'PX', lease_ms)
      return {i / 2, id, fields, dropped, broken}
    end
  end
end
return {0, '', {}, dropped, broken}
