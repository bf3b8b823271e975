-- Enqueue several jobs onto one queue in one step: each as enqueue.lua would, all of
-- them or none. While a live job holds the id of one of them, nothing is written and
-- the reply says which; a batch sent again after a lost reply finds its jobs by their
-- operation tokens and answers as the first run did. The ids are pushed together, at
-- the end, as if each had been pushed alone, in order.
--
-- KEYS[1] queue list
-- KEYS[2] set of queue names
-- KEYS[3] wake channel of the queue
-- KEYS[4] deferred registry of the queue
-- ARGV[1] queue name
-- ARGV[2] key prefix: a job's key is <prefix>:job:<id>, the set of parents it waits
--         for <prefix>:dependencies:<id>, a parent's dependents <prefix>:dependents:<id>
--         (as minirq/keys.py spells them), and a replaced job's registry is reached by
--         it (see lib_replace.lua)
-- ARGV[3] "1" when the batch is sent again after a lost reply (every id may then name a
--         hash), else "0"
-- ARGV[4] number of jobs
-- ARGV[5..] each job in turn: its id, operation token, flags (the sum of 1 to push it
--         at the front, 2 if failed or stopped parents count as done, 4 if its id may
--         name a hash: the caller chose it), seconds the queued job may wait before it
--         expires ("0" for no limit), number of parents n, number of field, value
--         pairs m, then the n parent ids and the m pairs of its hash (status "queued"
--         among them)
--
-- Returns one enqueue.lua reply per job, in order, when one is refused ({0, status,
-- queue}): nothing was written and the others are {1, ""}. Else the replies' codes in
-- one string, a digit per job ("1" queued, "2" deferred): a batch is one reply, not a
-- list of lists to build and parse.
-- @include lib_time
-- @include lib_replace
-- @include lib_enqueue
local queue, prefix, resend = ARGV[1], ARGV[2], ARGV[3] == '1'
local count = whole(ARGV[4])
if count == nil then
  return redis.error_reply('ERR minirq: bad job count')
end
local job_prefix = prefix .. ':job:'
local QUEUED, NO_PARENTS = {1, ''}, {}
-- First every job's arguments are checked, and every id that may name a hash is looked
-- up; only then is anything written.
local replies, refused = {}, false
local a = 5
for j = 1, count do
  local flags, ttl = whole(ARGV[a + 2]), whole(ARGV[a + 3])
  local n, m = whole(ARGV[a + 4]), whole(ARGV[a + 5])
  if flags == nil or ttl == nil or n == nil or m == nil or flags < 0 or flags > 7 or
      n < 0 or m < 0 then
    return redis.error_reply('ERR minirq: bad arguments for job ' .. j)
  end
  replies[j] = QUEUED
  if resend or flags >= 4 then
    local holder = live_holder(job_prefix .. ARGV[a], ARGV[a + 1])
    if holder and holder.err then
      return holder
    end
    if holder then
      replies[j], refused = holder, true
    end
  end
  a = a + 6 + n + 2 * m
end
if a ~= #ARGV + 1 then
  return redis.error_reply('ERR minirq: the arguments do not add up to the jobs')
end
if refused then
  return replies
end
local deps_prefix, dependents_prefix = prefix .. ':dependencies:', prefix .. ':dependents:'
local front, back, stored, codes = {}, {}, false, {}
a = 5
for j = 1, count do
  local id, flags, ttl = ARGV[a], tonumber(ARGV[a + 2]), tonumber(ARGV[a + 3])
  local n, m = tonumber(ARGV[a + 4]), tonumber(ARGV[a + 5])
  local key, chosen, parents, deps_key = job_prefix .. id, '0', NO_PARENTS, nil
  if resend or flags >= 4 then
    chosen, deps_key = '1', deps_prefix .. id
  end
  if n > 0 then
    deps_key, parents = deps_prefix .. id, {}
    for i = 1, n do
      local parent = ARGV[a + 5 + i]
      parents[i] = {parent, job_prefix .. parent, dependents_prefix .. parent}
    end
  end
  local reply = store_job(
    key, id, ARGV[a + 1], chosen, prefix, parents, flags % 4 >= 2, deps_key, KEYS[4],
    ARGV, a + 6 + n, a + 5 + n + 2 * m
  )
  codes[j] = reply and reply[1] or 1
  if reply then
    replies[j] = reply
    stored = stored or reply[1] == 2
    refused = refused or reply[1] == 0
  else
    stored = true
    if ttl > 0 then
      redis.call('EXPIRE', key, ttl)
    end
    if flags % 2 == 1 then
      front[#front + 1] = id
    else
      back[#back + 1] = id
    end
  end
  a = a + 6 + n + 2 * m
end
if stored then
  redis.call('SADD', KEYS[2], queue)
end
push_ids(KEYS[1], KEYS[3], front, back)
if refused then
  return replies
end
return table.concat(codes)
