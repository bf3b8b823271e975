-- Renew the leases of the runs a worker holds, on Redis's clock, and only for the run
-- that holds each lease: two workers started with the same name, or two horses of one
-- pool, can never extend each other's lease.
--
-- KEYS[i] started registry of the i-th job's queue
-- ARGV[1] lease length, milliseconds
-- ARGV[2] job key prefix (the id is appended; on Cluster the prefix needs a hash tag)
-- ARGV[2i+1] id of the i-th job; ARGV[2i+2] its run token
-- Returns the ids whose lease is no longer this run's.
-- @include lib_time
-- @include lib_limit_slots
local lease_ms = whole(ARGV[1])
if lease_ms == nil then
  return redis.error_reply('ERR minirq: bad lease length')
end
local deadline = redis_now_ms() + lease_ms
local lost = {}
for i = 1, #KEYS do
  local id, token = ARGV[2 * i + 1], ARGV[2 * i + 2]
  local held = redis.pcall('ZSCORE', KEYS[i], id)
  local job = type(held) == 'string' and redis.call('HMGET', ARGV[2] .. id, 'run', 'limit_slot')
  if job and job[1] == token then
    redis.call('ZADD', KEYS[i], 'XX', deadline, id)
    renew_limit_slot(job[2], id, deadline)
  else
    lost[#lost + 1] = id
  end
end
return lost
