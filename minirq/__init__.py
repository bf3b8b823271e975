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
from .serializers import JSONSerializer, PickleSerializer
from .worker import SimpleWorker, Worker, WorkerInfo

__version__ = "0.1.0"

__all__ = [
    "CanceledJobRegistry",
    "ConfigurationError",
    "ConnectionFailed",
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
    "ScheduledJobRegistry",
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
