-- Store a failed callback's traceback on a job, if the job still exists, as one step: a
-- job deleted meanwhile must not be brought back as a hash holding only that field.
--
-- KEYS[1] job hash
-- ARGV[1] traceback text
-- Returns 1 if stored, 0 if the job is gone.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'callback_exc', ARGV[1])
return 1
