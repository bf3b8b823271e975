-- Move one job from RQ's keys to minirq's on the same Redis database, as one step: it
-- is written into its place here (see lib_rq_import.lua) and leaves RQ's queue or
-- registry, its RQ hash, results and dependency sets, or nothing happens at all. A job
-- that RQ changed since it was read (another created_at, or gone) is not touched.
--
-- KEYS[1] job hash
-- KEYS[2] queue list
-- KEYS[3] wake channel of the queue
-- KEYS[4] scheduled registry of the queue
-- KEYS[5] the schedulers' wake channel
-- KEYS[6] deferred registry of the queue
-- KEYS[7] failed registry of the queue
-- KEYS[8] set of queue names
-- KEYS[9] set of the parents this job still waits for
-- KEYS[10] set of the jobs waiting for this one
-- KEYS[11] RQ's job hash
-- KEYS[12] RQ's queue list or registry that holds the job
-- KEYS[13] RQ's results stream of the job
-- KEYS[14] RQ's set of the job's dependencies
-- KEYS[15] RQ's set of the job's dependents
-- KEYS[16+2i-2] hash of the i-th parent; KEYS[16+2i-1] set of that parent's dependents
-- ARGV[1] job id
-- ARGV[2] queue name
-- ARGV[3] status to write: queued, scheduled, deferred, failed or stopped
-- ARGV[4] score: due time in epoch ms (scheduled), expiry in epoch ms or "+inf"
--         (failed, stopped); "" otherwise
-- ARGV[5] milliseconds the job hash has left to live, "0" for no limit
-- ARGV[6] RQ's created_at of the job, as it was read
-- ARGV[7] key prefix, to reach the registry of a replaced job (see lib_replace.lua)
-- ARGV[8] "1" if KEYS[12] is a list, "0" if a sorted set
-- ARGV[9] "1" if failed or stopped parents count as done (allow_failure), else "0"
-- ARGV[10] number of parents n
-- ARGV[11+2i-2] id of the i-th parent; ARGV[11+2i-1] "1" if that parent is done in RQ
-- ARGV[11+2n..] field, value pairs of the job hash
--
-- Returns {1, status} when moved, {2, ""} when it was here already (its RQ copy is then
-- removed), {0, status, queue} when refused because a live job has the id, and {3, ""}
-- when RQ's job is no longer the one read.
-- @include lib_time
-- @include lib_replace
-- @include lib_rq_import
if (redis.call('HGET', KEYS[11], 'created_at') or '') ~= ARGV[6] then
  return {3, ''}
end
local reply = import_rq_job(16)
if reply[1] ~= 0 then
  if ARGV[8] == '1' then
    redis.call('LREM', KEYS[12], 0, ARGV[1])
  else
    redis.call('ZREM', KEYS[12], ARGV[1])
  end
  redis.call('DEL', KEYS[11], KEYS[13], KEYS[14], KEYS[15])
end
return reply
