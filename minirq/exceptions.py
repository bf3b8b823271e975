"""The minirq exception tree.

Everything minirq raises for a caller to handle derives from :class:`MinirqError`.
:class:`JobTimeoutException` is raised inside a running job when it exceeds its timeout;
it is a control-flow exception and derives from ``BaseException`` so that a job's broad
``except Exception`` does not swallow it.
"""

from __future__ import annotations


class MinirqError(Exception):
    """Root of every error minirq raises to its callers."""


class ConfigurationError(MinirqError, ValueError):
    """A setting or option has an invalid value."""


class InvalidJobError(MinirqError, ValueError):
    """A job was refused at enqueue; nothing was written."""


class InvalidFunctionError(InvalidJobError):
    """The callable cannot be run by a worker (a lambda, a nested or ``__main__`` function)."""


class SerializationError(InvalidJobError):
    """The job's arguments cannot be encoded by the queue's serializer."""


class DuplicateJobError(InvalidJobError):
    """A ``unique=True`` job was enqueued while a live job with its id exists."""


class NoSuchJobError(MinirqError, LookupError):
    """No job with that id exists (it was deleted or has expired)."""


class InvalidJobOperation(MinirqError):
    """The operation does not apply to the job in its current state."""


class DeserializationError(MinirqError):
    """Data stored in Redis cannot be decoded."""


class ConnectionFailed(MinirqError):
    """Redis cannot be reached."""


class JobTimeoutException(BaseException):
    """Raised inside a job that ran past its timeout."""


class ShutdownRequested(BaseException):
    """Raised in a worker to stop at once after a second shutdown signal."""
