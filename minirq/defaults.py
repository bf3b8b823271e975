"""Every default minirq uses, in one place."""

from __future__ import annotations

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_PREFIX = "minirq"
DEFAULT_QUEUE_NAME = "default"

DEFAULT_JOB_TIMEOUT_S = 180
DEFAULT_RESULT_TTL_S = 500
DEFAULT_FAILURE_TTL_S = 365 * 24 * 3600

# A running job's lease; the worker renews it every LEASE_S / 3 seconds.
DEFAULT_LEASE_S = 30
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
# The reaper's lock, so that only one process scans at a time.
REAPER_LOCK_MS = 5000

JOB_ID_MAX_LENGTH = 128

# How often a worker re-reads which queues are paused and whether it is suspended: a pause
# takes effect on every worker within this time.
PAUSE_REFRESH_S = 1.0
# How long a callback (on_success, on_failure, on_stopped) may run by default.
DEFAULT_CALLBACK_TIMEOUT_S = 60
