"""Every default minirq uses, in one place."""

from __future__ import annotations

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_PREFIX = "minirq"
DEFAULT_QUEUE_NAME = "default"
# Sentinel's own port, used when a redis+sentinel:// URL names a host without one.
DEFAULT_SENTINEL_PORT = 26379
# Idle connections are checked with a PING before use after this many seconds.
REDIS_HEALTH_CHECK_INTERVAL_S = 30

DEFAULT_JOB_TIMEOUT_S = 180
DEFAULT_RESULT_TTL_S = 500
DEFAULT_FAILURE_TTL_S = 365 * 24 * 3600
# RQ's names for the same defaults (minirq.defaults is rq.defaults for code moving over).
DEFAULT_RESULT_TTL = DEFAULT_RESULT_TTL_S
DEFAULT_FAILURE_TTL = DEFAULT_FAILURE_TTL_S

# How long a running job may finish after SIGTERM before it is put back on its queue.
DEFAULT_SHUTDOWN_TIMEOUT_S = 25.0
# A running job's lease; the worker renews it every LEASE_S / 3 seconds.
DEFAULT_LEASE_S = 30
# RQ's name for how often a running job's worker reports in: minirq renews the lease three
# times per lease.
DEFAULT_JOB_MONITORING_INTERVAL = DEFAULT_LEASE_S // 3
# How many times a job may lose its worker before it is sent to failed.
DEFAULT_MAX_ORPHANINGS = 3
# The horse gets this long past its own timeout to report before it is killed.
HORSE_KILL_GRACE_S = 2.0
# Results larger than this fail the job instead of filling Redis.
DEFAULT_MAX_RESULT_BYTES = 16 * 1024 * 1024

# A worker's record expires if no heartbeat refreshes it within this time.
WORKER_TTL_S = 60
# How long an idle worker waits for a wake-up before it runs its housekeeping.
IDLE_WAIT_S = 1.0
# How often the worker flushes its per-minute counters while busy.
STATS_FLUSH_S = 1.0
# Per-minute counters are kept this long for the dashboard's charts.
STATS_TTL_S = 2 * 3600
# Upper bounds (seconds) of the job duration histogram's buckets, as Prometheus counts them.
JOB_DURATION_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)
# Where the kernel cannot kill a horse with its parent, the horse checks this often.
PARENT_CHECK_S = 0.5
# While Redis is unreachable, workers retry with back-off up to this delay.
MAX_RECONNECT_DELAY_S = 5.0
# The reaper's lock, so that only one process scans at a time.
REAPER_LOCK_MS = 5000

JOB_ID_MAX_LENGTH = 128

# The active scheduler's lease; a standby tries to take it every SCHEDULER_LEASE_S / 3,
# so a dead scheduler is replaced within SCHEDULER_LEASE_S * 4 / 3 (under 15 s).
SCHEDULER_LEASE_S = 10.0
# Due jobs moved per atomic script call.
SCHEDULER_BATCH_SIZE = 500
# How often a scheduler runs the reaper of jobs whose worker died.
SCHEDULER_HOUSEKEEPING_S = 10.0
# A missed cron slot older than this is not run with misfire="skip".
CRON_MISFIRE_GRACE_S = 60
# At most this many missed slots are run with misfire="all".
CRON_MISFIRE_CAP = 100
# How long the idempotency key of a fired cron slot is kept.
CRON_SLOT_TTL_S = 3600
# Retry back-off defaults (seconds) for Retry(backoff="exponential").
RETRY_BACKOFF_BASE_S = 1.0
RETRY_BACKOFF_CAP_S = 300.0
# Attempts a job enqueued without a Retry gets when it raises or returns RetryJob.
RETRY_JOB_DEFAULT_MAX = 3
# How often a worker re-reads which queues are paused and whether it is suspended: a pause
# takes effect on every worker within this time.
PAUSE_REFRESH_S = 1.0
# How long a callback (on_success, on_failure, on_stopped) may run by default.
DEFAULT_CALLBACK_TIMEOUT_S = 60
CALLBACK_TIMEOUT = DEFAULT_CALLBACK_TIMEOUT_S  # RQ's name
# The longest duration (timeouts, TTLs) minirq accepts: 100 years. Anything longer is
# refused at the edge, so that no script fails half-way on a value Redis cannot store.
MAX_DURATION_S = 100 * 365 * 24 * 3600
