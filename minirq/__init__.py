"""minirq: a Redis-backed background job queue in the style of RQ."""

from .async_job import AsyncJob
from .async_queue import AsyncQueue
from .async_worker import AsyncWorker
from .callbacks import Callback
from .commands import (
    send_command,
    send_kill_horse_command,
    send_shutdown_command,
    send_stop_job_command,
)
from .connection import connect
from .defaults import VERSION
from .dependency import Dependency
from .exceptions import (
    ConfigurationError,
    ConfigurationTypeError,
    DeserializationError,
    DuplicateJobError,
    InvalidFunctionError,
    InvalidJobError,
    InvalidJobOperation,
    JobIdTypeError,
    JobTimeoutException,
    MinirqError,
    NoSuchJobError,
    RetryJob,
    SerializationError,
    ShutdownRequested,
)
from .group import Group
from .job import Job, JobStatus, cancel_job, get_current_job, requeue_job
from .limits import Limit
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

__version__ = VERSION

__all__ = [
    "AsyncJob",
    "AsyncQueue",
    "AsyncWorker",
    "Callback",
    "CanceledJobRegistry",
    "ConfigurationError",
    "ConfigurationTypeError",
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
    "JobIdTypeError",
    "JobStatus",
    "JobTimeoutException",
    "Limit",
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
