"""The minirq exception tree.

Everything minirq raises for a caller to handle derives from :class:`MinirqError`.
:class:`JobTimeoutException` is raised inside a running job when it exceeds its timeout;
it is a control-flow exception and derives from ``BaseException`` so that a job's broad
``except Exception`` does not swallow it. :class:`RetryJob` is raised (or returned) by a
job to ask for another attempt; it is control flow too, not an error of minirq's.

RQ's exception names are here too, each a subclass in this tree (or the class minirq
raises, under RQ's name), so that ``except`` clauses written for RQ catch what minirq
raises: :class:`TimeoutFormatError` is the :class:`ConfigurationError` of a bad duration,
:class:`InvalidJobDependency` the :class:`InvalidJobError` of a bad ``depends_on``.
"""

from __future__ import annotations


class MinirqError(Exception):
    """Root of every error minirq raises to its callers."""


class ConfigurationError(MinirqError, ValueError):
    """A setting or option has an invalid value."""


class ConfigurationTypeError(ConfigurationError, TypeError):
    """An option is of the wrong type (a ``TypeError`` too, as RQ raises there)."""


class InvalidJobError(MinirqError, ValueError):
    """A job was refused at enqueue; nothing was written."""


class JobIdTypeError(InvalidJobError, TypeError):
    """A ``job_id`` that is not a string (a ``TypeError`` too, as RQ raises)."""


class InvalidFunctionError(InvalidJobError):
    """The callable cannot be run by a worker (a lambda, a nested or ``__main__`` function)."""


class SerializationError(InvalidJobError):
    """The job's arguments cannot be encoded by the queue's serializer."""


class DuplicateJobError(InvalidJobError):
    """A ``unique=True`` job was enqueued while a live job with its id exists."""


class NoSuchJobError(MinirqError, LookupError):
    """No job with that id exists (it was deleted or has expired)."""


class NoSuchGroupError(NoSuchJobError):
    """No group with that name has jobs left."""


class TimeoutFormatError(ConfigurationError):
    """A timeout or TTL is not a duration minirq accepts (RQ's name)."""


class InvalidJobDependency(InvalidJobError):
    """``depends_on`` names something that is not a job (RQ's name)."""


class AbandonedJobError(MinirqError):
    """Names the failure of a job whose worker died while running it; it is recorded as
    the job's ``exc_info``, not raised."""


class NoRedisConnectionException(ConfigurationError):
    """No Redis connection could be made from the settings (RQ's name)."""


class DequeueTimeout(MinirqError):
    """No job arrived within the time a blocking take waited (RQ's name)."""


class SchedulerNotFound(MinirqError, LookupError):
    """No scheduler with that name is registered (RQ's name)."""


class DuplicateSchedulerError(MinirqError):
    """A scheduler with that name is already registered (RQ's name)."""


class StopRequested(MinirqError):
    """A loop was asked to stop (RQ's name)."""


class InvalidJobOperation(MinirqError):
    """The operation does not apply to the job in its current state."""


# RQ has both names for the one error.
InvalidJobOperationError = InvalidJobOperation


class DeserializationError(MinirqError):
    """Data stored in Redis cannot be decoded."""


class BaseTimeoutException(BaseException):
    """A time limit passed (RQ's name); control flow, like its subclasses."""


class JobTimeoutException(BaseTimeoutException):
    """Raised inside a job that ran past its timeout. Unlike RQ's, it derives from
    ``BaseException``: a job's ``except Exception`` must not swallow its own timeout."""


class HorseMonitorTimeoutException(BaseTimeoutException):
    """A work-horse could not be watched within its time (RQ's name)."""


class ShutdownRequested(BaseException):
    """Raised in a worker to stop at once after a second shutdown signal."""


class ShutDownImminentException(BaseException):
    """Raised inside a job run by a :class:`~minirq.worker.HerokuWorker` whose worker
    got SIGTERM, once its grace delay has passed; the job goes back to its queue."""

    def __init__(self, msg: str = "shut down imminent", extra_info: object = None) -> None:
        super().__init__(msg)
        self.extra_info = extra_info


class RetryJob(Exception):
    """Raise (or return) this from a job to ask for another attempt.

    ``delay_s`` overrides the delay of the job's :class:`~minirq.Retry` (default: its own
    schedule, or at once). The request uses one of the job's retries; a job enqueued
    without a ``Retry`` gets ``max_retries`` of them. With none left the job fails.
    """

    def __init__(
        self, reason: str = "", delay_s: float | None = None, max_retries: int | None = None
    ) -> None:
        if delay_s is not None and (isinstance(delay_s, bool) or not delay_s >= 0):
            raise ValueError(f"RetryJob delay_s must be zero or more seconds, not {delay_s!r}")
        if max_retries is not None and (
            isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 1
        ):
            raise ValueError(f"RetryJob max_retries must be an int >= 1, not {max_retries!r}")
        super().__init__(reason or "the job asked to be retried")
        self.reason = reason
        self.delay_s = delay_s
        self.max_retries = max_retries
