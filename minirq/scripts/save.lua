-- Store a job built in memory (Job.create, then job.save()), or change the fields a
-- caller may change on a stored one, as one step. A stored job's state (status, run
-- token, registries) is written only by the steps that change it, so a save can never
-- undo what a worker recorded meanwhile.
--
-- KEYS[1] job hash
-- ARGV[1] how many of the field, value pairs below a stored job takes (they come first)
-- ARGV[2..] field, value pairs: every field of a new job
-- Returns 1 when the job was stored new, 2 when a stored job was changed.
local kind = redis.call('TYPE', KEYS[1]).ok
local changed = tonumber(ARGV[1])
if changed == nil or changed < 0 then
  return redis.error_reply('ERR minirq: bad count of changed fields')
end
if kind == 'hash' then
  if changed > 0 then
    redis.call('HSET', KEYS[1], unpack(ARGV, 2, 1 + 2 * changed))
  end
  return 2
end
if kind ~= 'none' then
  return redis.error_reply('ERR minirq: the job key holds a ' .. kind .. ', not a job')
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
return 1
