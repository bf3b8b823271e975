-- Remove one job from RQ's keys, as one step, once minirq holds it (rq_import.lua ran
-- on the other Redis): its id leaves RQ's queue or registry, and its hash, results and
-- dependency sets go. Only the job that was imported is removed: if RQ's hash has
-- another created_at (a new job of the same id) or is gone, nothing is touched.
--
-- KEYS[1] RQ's job hash
-- KEYS[2] RQ's queue list or registry that holds the job
-- KEYS[3] RQ's results stream of the job
-- KEYS[4] RQ's set of the job's dependencies
-- KEYS[5] RQ's set of the job's dependents
-- ARGV[1] job id
-- ARGV[2] "1" if KEYS[2] is a list, "0" if a sorted set
-- ARGV[3] RQ's created_at of the imported job
-- Returns 1 when removed, 0 when RQ's job is not the one imported.
if (redis.call('HGET', KEYS[1], 'created_at') or '') ~= ARGV[3] then
  return 0
end
if ARGV[2] == '1' then
  redis.call('LREM', KEYS[2], 0, ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4], KEYS[5])
return 1
