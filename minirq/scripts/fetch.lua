-- Take the first id of the first non-empty queue (strict priority order), lease it in
-- that queue's started registry and mark the job started, as one step: a worker that
-- dies at any instant leaves the id either in its queue or under a lease the reaper
-- will recover, never only in the worker's memory. The lease deadline is on Redis's
-- clock. The run token names this run: finish, fail and heartbeats must present it.
-- The job hash is this call's receipt: a resend of the same call after a lost reply
-- (flagged by ARGV[7]) looks in the started registries for the job holding
-- this run token and answers it instead of leasing another one. Only a resend looks
-- (the registries hold the running jobs of these queues): a first send writes nothing
-- but the lease and the job's new state.
--
-- Limits (lib_limits.lua): a job carries its limit in its 'limit' field, or runs under
-- its queue's default (read by the worker from the queue-limits hash, passed in ARGV).
-- A job over its limit is left where it is and the jobs behind it are looked at, at
-- most the scan depth (ARGV[9]) per queue in all, so that a queue full of held-back
-- jobs costs a bounded amount per fetch; order is kept. A job's limit that cannot be
-- read is no limit here: the job is taken and the worker fails it with the reason. A
-- queue default that cannot be read holds back the jobs relying on it (the worker logs
-- it).
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
-- ARGV[8] key prefix (limit keys are known only from data: on Cluster the prefix needs
--         a hash tag)
-- ARGV[9] at most this many queued jobs looked at per queue
-- ARGV[9+i] the default limit of the i-th queue, or "" (see minirq/limits.py)
--
-- Returns {queue index (1-based, 0 if nothing was taken), job id, job fields as a flat
-- list, ids dropped (hash gone, or not an id minirq writes), keys that are not of the
-- type a queue, registry or limit has (skipped), -1 if no job was held back by a limit,
-- else the milliseconds until one may start (see lib_limits.lua)}.
-- @include lib_time
-- @include lib_limits
local lease_ms, scan_depth = whole(ARGV[1]), whole(ARGV[9])
if lease_ms == nil or scan_depth == nil or scan_depth < 1 then
  return redis.error_reply('ERR minirq: bad lease length or scan depth')
end
local job_prefix = ARGV[4]
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
          return {(i - 1) / 2, id, redis.call('HGETALL', job_key), dropped, broken, -1}
        end
      end
    end
  end
end
local now = redis_now_ms()
local deadline = now + lease_ms
local gate = limit_gate(ARGV[8], now, broken)

-- The default limit of the queue at KEYS[i] (ARGV[9 + i / 2]): its text and the limit
-- (nil, nil without one; text, nil when it does not spell a limit).
local queue_defaults = {}
local function queue_default(i)
  local found = queue_defaults[i]
  if found == nil then
    local text = ARGV[9 + i / 2]
    if text == nil or text == '' then
      found = {}
    else
      found = {text, gate.parse(text)}
    end
    queue_defaults[i] = found
  end
  return found[1], found[2]
end

local function field_of(fields, name)
  for f = 1, #fields, 2 do
    if fields[f] == name then
      return fields[f + 1]
    end
  end
  return nil
end

-- Lease the job, take it off its queue (the head is already popped), take its limit's
-- slot and mark it started. Returns the reply, or nil when the started registry is not
-- a sorted set.
local function start(i, id, popped, fields, text, limit)
  local job_key = job_prefix .. id
  local leased = redis.pcall('ZADD', KEYS[i + 1], deadline, id)
  if type(leased) == 'table' and leased.err then
    -- The id goes back where it was and the queue is left alone, before anything else
    -- is written.
    if popped then
      redis.call('LPUSH', KEYS[i], id)
    end
    broken[#broken + 1] = KEYS[i + 1]
    return nil
  end
  if not popped then
    redis.call('LREM', KEYS[i], 1, id)
  end
  local started = string.format('%d', now)
  -- The caller runs the job from these fields: they must show this run, not the last.
  local updates = {status = 'started', started_ms = started, worker = ARGV[2], run = ARGV[3]}
  local slot = limit and gate.take(text, limit, id, ARGV[3], deadline)
  if slot then
    updates.limit_slot = slot
    redis.call('HSET', job_key, 'status', 'started', 'started_ms', started, 'worker', ARGV[2],
      'run', ARGV[3], 'limit_slot', slot)
  else
    redis.call('HSET', job_key, 'status', 'started', 'started_ms', started, 'worker', ARGV[2],
      'run', ARGV[3])
  end
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
  return {i / 2, id, fields, dropped, broken, gate.wait_ms}
end

-- Look at one queued job (`popped`: the head, already taken off its queue): 'taken'
-- (with the reply), 'held' (over its limit: left where it was), 'dropped' (not a job
-- any more: off the queue) or 'broken' (the queue cannot be used now).
local function examine(i, id, popped)
  local fields, text
  if string.match(id, '^[%w_.:-]+$') then
    if popped then
      fields = redis.pcall('HGETALL', job_prefix .. id)
      if fields.err then
        fields = {}
      end
      text = field_of(fields, 'limit')
    else
      -- Only the limit of a job behind the head: most of them are held back.
      text = redis.pcall('HGET', job_prefix .. id, 'limit')
      if type(text) ~= 'string' then
        text = nil
      end
    end
  else
    fields = {}
  end
  local limit = nil
  if fields == nil or #fields > 0 then
    local held = false
    if text then
      -- One that does not parse is no limit here: the worker fails the job with why.
      limit = gate.parse(text)
    else
      text, limit = queue_default(i)
      held = text ~= nil and limit == nil
    end
    if held or (limit and not gate.may_start(text, limit)) then
      if popped then
        redis.call('LPUSH', KEYS[i], id)
      end
      return 'held'
    end
    if fields == nil then
      fields = redis.pcall('HGETALL', job_prefix .. id)
      if fields.err then
        fields = {}
      end
    end
  end
  if #fields == 0 then
    if not popped then
      redis.call('LREM', KEYS[i], 1, id)
    end
    dropped[#dropped + 1] = id
    return 'dropped'
  end
  local reply = start(i, id, popped, fields, text, limit)
  if reply == nil then
    return 'broken'
  end
  return 'taken', reply
end

for i = 2, #KEYS, 2 do
  local looking = true
  while looking do
    -- The head first: a queue whose first job may start costs what it did before limits.
    local head = redis.pcall('LPOP', KEYS[i])
    if type(head) == 'table' then
      broken[#broken + 1] = KEYS[i]
      looking = false
    elseif not head then
      looking = false
    else
      local verdict, reply = examine(i, head, true)
      if verdict == 'taken' then
        return reply
      elseif verdict == 'broken' then
        looking = false
      elseif verdict == 'held' then
        looking = false
        for _, id in ipairs(redis.call('LRANGE', KEYS[i], 1, scan_depth - 1)) do
          verdict, reply = examine(i, id, false)
          if verdict == 'taken' then
            return reply
          elseif verdict == 'broken' then
            break
          end
        end
      end
    end
  end
end
if ARGV[5] ~= '' then
  show_worker(ARGV[5], ARGV[6])
end
return {0, '', {}, dropped, broken, gate.wait_ms}
