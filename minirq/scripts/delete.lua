-- Delete a job, taking its id out of its queue and every registry of its queue, and (if
-- asked) every job that depends on it, directly or not, as one step: no dependent is
-- left deferred for a parent that is gone, and no id is left pointing at a deleted hash.
-- Dependents are known only from data: their keys are built as <prefix>:<kind>:<name>,
-- exactly as minirq/keys.py spells them (one slot per prefix on Redis Cluster). A running
-- job deleted gives back its limit's concurrency slot (lib_limit_slots.lua).
--
-- KEYS[1] job hash
-- ARGV[1] job id
-- ARGV[2] key prefix
-- ARGV[3] "1" to delete the jobs that depend on it too, else "0"
-- ARGV[4] "1" to take the ids out of their queue and registries, else "0"
-- Returns how many job hashes were deleted.
-- @include lib_limit_slots
local prefix = ARGV[2]
local kinds = {'started', 'finished', 'failed', 'scheduled', 'deferred', 'canceled'}
local ids, seen, index = {ARGV[1]}, {[ARGV[1]] = true}, 1
while ARGV[3] == '1' and index <= #ids do
  local members = redis.pcall('SMEMBERS', prefix .. ':dependents:' .. ids[index])
  if not members.err then
    for _, child in ipairs(members) do
      if not seen[child] then
        seen[child] = true
        ids[#ids + 1] = child
      end
    end
  end
  index = index + 1
end
local deleted = 0
for _, id in ipairs(ids) do
  local job_key = prefix .. ':job:' .. id
  local is_hash = redis.call('TYPE', job_key).ok == 'hash'
  if is_hash then
    release_limit_slot(job_key, id, redis.call('HGET', job_key, 'limit_slot'))
  end
  if ARGV[4] == '1' and is_hash then
    local origin = redis.call('HGET', job_key, 'origin')
    if origin then
      redis.pcall('LREM', prefix .. ':queue:' .. origin, 0, id)
      for _, kind in ipairs(kinds) do
        redis.pcall('ZREM', prefix .. ':' .. kind .. ':' .. origin, id)
      end
    end
  end
  deleted = deleted + redis.call('DEL', job_key)
  redis.call('DEL', prefix .. ':dependents:' .. id, prefix .. ':dependencies:' .. id)
end
return deleted
