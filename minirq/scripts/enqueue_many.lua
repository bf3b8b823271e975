-- Enqueue several jobs in one step: each as enqueue.lua would, all of them or none.
-- While a live job holds the id of one of them, nothing is written and the reply says
-- which; a batch sent again after a lost reply finds its jobs by their operation tokens
-- and answers as the first run did.
--
-- KEYS[6i-5] to KEYS[6i] the KEYS of the i-th job's enqueue.lua call, when no job has
--         parents (a job with parents has two more per parent, which shift the keys
--         of the jobs after it)
-- ARGV[1] number of jobs
-- ARGV[2..] for each job in turn: how many ARGV its enqueue.lua call has, then those
--
-- Returns one enqueue.lua reply per job, in order; when one is refused ({0, status,
-- queue}), nothing was written and the others are {1, ""}.
-- @include lib_time
-- @include lib_replace
-- @include lib_enqueue
local count = whole(ARGV[1])
if count == nil then
  return redis.error_reply('ERR minirq: bad job count')
end
-- First every job's arguments are read and checked, and every id that may name a hash
-- is looked up; only then is anything written.
local jobs, replies, refused = {}, {}, false
local k, a = 0, 1
for j = 1, count do
  local length = whole(ARGV[a + 1])
  local ttl, n = whole(ARGV[a + 5]), whole(ARGV[a + 10])
  if length == nil or ttl == nil or n == nil then
    return redis.error_reply('ERR minirq: bad arguments for job ' .. j)
  end
  a = a + 1
  jobs[j] = {k, a, ttl, n, a + length}
  replies[j] = {1, ''}
  if ARGV[a + 8] == '1' then
    local holder = live_holder(KEYS[k + 1], ARGV[a + 5])
    if holder and holder.err then
      return holder
    end
    if holder then
      replies[j], refused = holder, true
    end
  end
  k, a = k + 6 + 2 * n, a + length
end
if k ~= #KEYS or a ~= #ARGV then
  return redis.error_reply('ERR minirq: the keys or arguments do not add up to the jobs')
end
if refused then
  return replies
end
for j = 1, count do
  local job = jobs[j]
  replies[j] = enqueue_job(KEYS, job[1], ARGV, job[2], job[3], job[4], job[5])
end
return replies
