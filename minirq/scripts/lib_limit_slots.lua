-- Library, not a script (see lib_dependents.lua for how it is included).
--
-- A started job that carries a concurrency limit holds a slot: its id in the limit's
-- slots sorted set, scored by its lease deadline, and the name of that set in the job
-- hash's 'limit_slot' field (written by fetch.lua). Each script that ends or hands back
-- a run releases the slot in the same step that records it; heartbeats renew it with
-- the lease; a slot whose lease ran out is dropped by the next fetch that counts it.
-- The set's name is <prefix>:limit:<key>:slots, as minirq/keys.py spells it; the name
-- read from the hash is checked against that shape before it is used.
local LIMIT_SLOT_PATTERN = '^([^%s:]+):limit:[%w_.%-]+:slots$'

-- release_limit_slot(job_key, id, slot): give back the slot the job's run holds (the
-- job's 'limit_slot' field, read by the caller with the fields it reads anyway), if any,
-- and wake the idle workers: one of them may be waiting for that slot.
local function release_limit_slot(job_key, id, slot)
  if not slot then
    return
  end
  redis.call('HDEL', job_key, 'limit_slot')
  local prefix = string.match(slot, LIMIT_SLOT_PATTERN)
  if prefix and redis.pcall('ZREM', slot, id) == 1 then
    redis.call('PUBLISH', prefix .. ':limits:wake', '1')
  end
end

-- renew_limit_slot(slot, id, deadline_ms): move the slot's deadline with the lease.
local function renew_limit_slot(slot, id, deadline_ms)
  if slot and string.match(slot, LIMIT_SLOT_PATTERN) then
    redis.pcall('ZADD', slot, 'XX', deadline_ms, id)
  end
end
