-- Write one job read from RQ's Redis (another server, or another database) into its
-- place here, as one step, and note it in the import ledger in the same step. The job is
-- removed from RQ's Redis only after this step (rq_release.lua); a crash in between
-- leaves it in both, and the ledger (RQ's id and created_at, which tell one RQ job from
-- another) makes the next run recognise it and only remove it from RQ. The ledger entry
-- is dropped once RQ's copy is gone, so the ledger holds only jobs in both places.
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
-- KEYS[11] the import ledger (hash of RQ id -> RQ created_at)
-- KEYS[12+2i-2] hash of the i-th parent; KEYS[12+2i-1] set of that parent's dependents
-- ARGV[1] job id
-- ARGV[2] queue name
-- ARGV[3] status to write: queued, scheduled, deferred, failed or stopped
-- ARGV[4] score: due time in epoch ms (scheduled), expiry in epoch ms or "+inf"
--         (failed, stopped); "" otherwise
-- ARGV[5] milliseconds the job hash has left to live, "0" for no limit
-- ARGV[6] RQ's created_at of the job
-- ARGV[7] key prefix, to reach the registry of a replaced job (see lib_replace.lua)
-- ARGV[8] "1" if RQ keeps the job in a list (read by rq_move.lua; passed here alike)
-- ARGV[9] "1" if failed or stopped parents count as done (allow_failure), else "0"
-- ARGV[10] number of parents n
-- ARGV[11+2i-2] id of the i-th parent; ARGV[11+2i-1] "1" if that parent is done in RQ
-- ARGV[11+2n..] field, value pairs of the job hash
--
-- Returns {1, status} when imported, {2, ""} when this job was imported before, and
-- {0, status, queue} when refused because a live job has the id.
-- @include lib_time
-- @include lib_replace
-- @include lib_rq_import
if redis.call('HGET', KEYS[11], ARGV[1]) == ARGV[6] then
  return {2, ''}
end
local reply = import_rq_job(12)
if reply[1] == 1 then
  redis.call('HSET', KEYS[11], ARGV[1], ARGV[6])
end
return reply
