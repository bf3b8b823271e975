"""minirq: a Redis-backed background job queue in the style of RQ."""

from .connection import connect
from .exceptions import (
    ConfigurationError,
    ConnectionFailed,
    DeserializationError,
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
from .job import Job, JobStatus, get_current_job
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
    "CanceledJobRegistry",
    "ConfigurationError",
    "ConnectionFailed",
    "CronEntry",
    "DeferredJobRegistry",
    "DeserializationError",
    "FailedJobRegistry",
    "FinishedJobRegistry",
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
]
