"""minirq: a Redis-backed background job queue in the style of RQ."""

from .callbacks import Callback
from .commands import send_shutdown_command, send_stop_job_command
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
from .job import Job, JobStatus, get_current_job
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
from .worker import SimpleWorker, Worker, WorkerInfo

__version__ = "0.1.0"

__all__ = [
    "Callback",
    "CanceledJobRegistry",
    "ConfigurationError",
    "CronEntry",
    "DeferredJobRegistry",
    "Dependency",
    "DeserializationError",
    "DuplicateJobError",
    "FailedJobRegistry",
    "FinishedJobRegistry",
    "Group",
    "InvalidFunctionError",
    "InvalidJobError",
    "InvalidJobOperation",
    "JSONSerializer",
    "Job",
    "JobStatus",
    "JobTimeoutException",
    "Limit",
    "MinirqError",
    "NoSuchJobError",
    "PickleSerializer",
    "Queue",
    "Repeat",
    "Retry",
    "RetryJob",
    "ScheduledJobRegistry",
    "Scheduler",
    "SerializationError",
    "ShutdownRequested",
    "SimpleWorker",
    "StartedJobRegistry",
    "Worker",
    "WorkerInfo",
    "WorkerPool",
    "connect",
    "get_current_job",
    "send_shutdown_command",
    "send_stop_job_command",
]
