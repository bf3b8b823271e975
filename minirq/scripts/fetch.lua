-- Take the first id of the first non-empty queue (strict priority order), lease it in
-- that queue's started registry and mark the job started, as one step: a worker that
-- dies at any instant leaves the id either in its queue or under a lease the reaper
-- will recover, never only in the worker's memory. The lease deadline is on Redis's
-- clock. The run token names this run: finish, fail and heartbeats must present it.
-- The job hash is this call's receipt: a resend of the same call after a lost reply
-- (flagged by the last argument) looks in the started registries for the job holding
-- this run token and answers it instead of leasing another one. Only a resend looks
-- (the registries hold the running jobs of these queues): a first send writes nothing
-- but the lease and the job's new state.
--
-- KEYS[1] the worker's record (its state and job are set here, in the same step, so that
--         the record is true at every instant; left alone if the record does not exist)
-- KEYS[2i] queue list of the i-th queue, in priority order
-- KEYS[2i+1] started registry of the i-th queue
-- ARGV[1] lease length, milliseconds
-- ARGV[2] worker name
-- ARGV[3] run token (new for each fetch)
-- ARGV[4] job key prefix (the id is appended; on Cluster the prefix needs a hash tag)
-- ARGV[5] the state the record shows if nothing is taken (a pool whose other horses
--         still run stays busy), or "" to leave the record as it is (the later fetches
--         of a batch sent in one round trip: the first one wrote it)
-- ARGV[6] the job the record shows if nothing is taken
-- ARGV[7] "1" when this call is sent again after a lost reply, else "0"
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
local function show_worker(state, job)
  if redis.call('TYPE', KEYS[1]).ok == 'hash' then
    redis.call('HSET', KEYS[1], 'state', state, 'job', job)
  end
end
if ARGV[7] == '1' then
  for i = 3, #KEYS, 2 do
    local ids = redis.pcall('ZRANGE', KEYS[i], 0, -1)
    if not ids.err then
      for _, id in ipairs(ids) do
        local job_key = ARGV[4] .. id
        local run = redis.pcall('HMGET', job_key, 'run', 'status')
        if not run.err and run[1] == ARGV[3] and run[2] == 'started' then
          return {(i - 1) / 2, id, redis.call('HGETALL', job_key), dropped, broken}
        end
      end
    end
  end
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
      show_worker('busy', id)
      return {i / 2, id, fields, dropped, broken}
    end
  end
end
if ARGV[5] ~= '' then
  show_worker(ARGV[5], ARGV[6])
end
return {0, '', {}, dropped, broken}
