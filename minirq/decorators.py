"""RQ's ``@job`` decorator, for teams that want it; plain ``queue.enqueue(f, ...)`` stays
the default way.

::

    from minirq.decorators import job

    @job("low", connection=redis_client, timeout=60)
    def send_report(user_id): ...

    send_report.delay(42)        # enqueues send_report(42) on "low"; returns the Job
    send_report(42)              # still a plain call, in this process

The queue and the options are checked when the function is decorated, so a bad option
fails at import time, not at the first enqueue.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis

from .defaults import DEFAULT_JOB_TIMEOUT_S
from .job import Job
from .options import JobOptions, given_lifecycle, options_record
from .queue import Queue

F = TypeVar("F", bound=Callable[..., Any])


class job:
    """Give the decorated function ``delay(*args, **kwargs)`` (and its alias ``enqueue``),
    which enqueues a call of it on ``queue`` with these options and returns the
    :class:`~minirq.Job`. ``depends_on``, ``job_id`` and ``at_front`` may also be passed
    to ``delay``, as in RQ. ``queue`` is a :class:`~minirq.Queue` or a queue name (then
    ``connection``, or ``REDIS_URL``, is its Redis).

    Raises :class:`ConfigurationError` or :class:`InvalidJobError` for a bad option.
    """

    def __init__(
        self,
        queue: Queue | str,
        connection: redis.Redis | None = None,
        timeout: Any = None,
        result_ttl: Any = None,
        ttl: Any = None,
        queue_class: type[Queue] | None = None,
        depends_on: Any = None,
        at_front: bool = False,
        meta: Mapping[str, Any] | None = None,
        description: str | None = None,
        failure_ttl: Any = None,
        retry: Any = None,
        on_failure: Any = None,
        on_success: Any = None,
        on_stopped: Any = None,
    ) -> None:
        if isinstance(queue, Queue):
            self.queue = queue
        else:
            self.queue = (queue_class or Queue)(queue, connection=connection)
        self.options: dict[str, Any] = {
            "timeout": timeout,
            "result_ttl": result_ttl,
            "ttl": ttl,
            "depends_on": depends_on,
            "at_front": at_front,
            "meta": meta,
            "description": description,
            "failure_ttl": failure_ttl,
            "retry": retry,
            "on_failure": on_failure,
            "on_success": on_success,
            "on_stopped": on_stopped,
        }
        self._check()

    def _check(self) -> None:
        given = self.options
        options_record(
            JobOptions(
                timeout=given["timeout"],
                result_ttl=given["result_ttl"],
                ttl=given["ttl"],
                failure_ttl=given["failure_ttl"],
                retry=given["retry"],
                lifecycle=given_lifecycle(
                    given["depends_on"], False, given["on_success"], given["on_failure"],
                    given["on_stopped"],
                ),
            ),
            DEFAULT_JOB_TIMEOUT_S,
        )  # fmt: skip
        if given["meta"] is not None:
            job_of_queue = Job("decorated", self.queue.connection, self.queue.serializer)
            job_of_queue.encode_meta(given["meta"])

    def __call__(self, f: F) -> F:
        def delay(*args: Any, **kwargs: Any) -> Job:
            options = dict(self.options)
            depends_on = kwargs.pop("depends_on", None)
            if depends_on:
                options["depends_on"] = depends_on
            options["at_front"] = bool(kwargs.pop("at_front", False)) or options["at_front"]
            job_id = kwargs.pop("job_id", None)
            return self.queue.enqueue_call(f, args=args, kwargs=kwargs, job_id=job_id, **options)

        delay.__doc__ = f"Enqueue a call of {getattr(f, '__qualname__', f)!s}; returns the Job."
        f.delay = delay  # type: ignore[attr-defined]
        f.enqueue = delay  # type: ignore[attr-defined]
        return f


__all__ = ["job"]
