-- Mark a job as waited on and read it, as one step, for job.latest_result(timeout=...).
-- The steps that record a run publish on the job's result channel only for a job so
-- marked, so a job nobody waits for costs no extra command; marking and reading together
-- means an outcome recorded before the mark is read here, and one recorded after it is
-- published.
--
-- KEYS[1] job hash
-- Returns the job's fields as HGETALL does (none when the job is gone or not a hash).
if redis.call('TYPE', KEYS[1]).ok ~= 'hash' then
  return {}
end
redis.call('HSET', KEYS[1], 'waited', '1')
return redis.call('HGETALL', KEYS[1])
