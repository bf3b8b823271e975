"""minirq: a Redis-backed background job queue in the style of RQ."""

from .callbacks import Callback
from .commands import (
    send_command,
    send_kill_horse_command,
    send_shutdown_command,
    send_stop_job_command,
)
from .connection import connect
from .dependency import Dependency
from .exceptions import (
    ConfigurationError,
    DeserializationError,
    DuplicateJobError,
    InvalidFunctionError,
    InvalidJobError,
    InvalidJobOperation,
    JobTimeoutException,
    MinirqError,
    NoSuchJobError,
    RetryJob,
    SerializationError,
    ShutdownRequested,
)
from .group import Group
from .job import Job, JobStatus, cancel_job, get_current_job, requeue_job
from .pool import WorkerPool
from .queue import Queue
from .registry import (
    CanceledJobRegistry,
    DeferredJobRegistry,
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)
from .retry import Repeat, Retry
from .scheduler import CronEntry, Scheduler
from .serializers import JSONSerializer, PickleSerializer
from .worker import (
    DequeueStrategy,
    HerokuWorker,
    RandomWorker,
    RoundRobinWorker,
    SimpleWorker,
    SpawnWorker,
    Worker,
    WorkerInfo,
    WorkerStatus,
)

__version__ = "0.1.0"

__all__ = [
    "Callback",
    "CanceledJobRegistry",
    "ConfigurationError",
    "CronEntry",
    "DeferredJobRegistry",
    "Dependency",
    "DequeueStrategy",
    "DeserializationError",
    "DuplicateJobError",
    "FailedJobRegistry",
    "FinishedJobRegistry",
    "Group",
    "HerokuWorker",
    "InvalidFunctionError",
    "InvalidJobError",
    "InvalidJobOperation",
    "JSONSerializer",
    "Job",
    "JobStatus",
    "JobTimeoutException",
    "MinirqError",
    "NoSuchJobError",
    "PickleSerializer",
    "Queue",
    "RandomWorker",
    "Repeat",
    "Retry",
    "RetryJob",
    "RoundRobinWorker",
    "ScheduledJobRegistry",
    "Scheduler",
    "SerializationError",
    "ShutdownRequested",
    "SimpleWorker",
    "SpawnWorker",
    "StartedJobRegistry",
    "Worker",
    "WorkerInfo",
    "WorkerPool",
    "WorkerStatus",
    "cancel_job",
    "connect",
    "get_current_job",
    "requeue_job",
    "send_command",
    "send_kill_horse_command",
    "send_shutdown_command",
    "send_stop_job_command",
]
