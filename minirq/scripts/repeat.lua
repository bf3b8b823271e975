-- Record a successful run of a repeating job and send it back for its next run (to its
-- queue, or to the scheduled set when an interval applies), releasing its lease, as one
-- step: the job is never both finished and waiting, nor lost between the two.
--
-- KEYS[1] job hash
-- KEYS[2] started registry of the job's queue
-- KEYS[3] queue list
-- KEYS[4] scheduled registry of the job's queue
-- KEYS[5] wake channel of the queue
-- KEYS[6] the schedulers' wake channel
-- ARGV[1] job id
-- ARGV[2] worker name (only the lease holder may record)
-- ARGV[3] now, epoch milliseconds
-- ARGV[4] the serialized result of this run
-- ARGV[5] "now" to requeue at once, or the due time (epoch ms) of the next run
-- ARGV[6] repeats left after this run
if redis.call('HGET', KEYS[1], 'worker') ~= ARGV[2] or
    redis.call('ZREM', KEYS[2], ARGV[1]) == 0 then
  return 0
end
redis.call('HSET', KEYS[1], 'ended_ms', ARGV[3], 'result', ARGV[4], 'repeats_left', ARGV[6])
if ARGV[5] == 'now' then
  redis.call('HSET', KEYS[1], 'status', 'queued', 'enqueued_ms', ARGV[3])
  if redis.call('RPUSH', KEYS[3], ARGV[1]) == 1 then
    redis.call('PUBLISH', KEYS[5], '1')
  end
else
  redis.call('HSET', KEYS[1], 'status', 'scheduled')
  redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
  redis.call('PUBLISH', KEYS[6], ARGV[5])
end
return 1
