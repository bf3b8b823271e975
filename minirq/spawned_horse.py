"""A work-horse started as a fresh Python interpreter (``os.posix_spawn``) instead of a
fork, for :class:`~minirq.worker.SpawnWorker`.

The parent passes the horse what it needs over a pipe (the job's id, how to reach Redis,
the serializer, the import path, the exception handlers); the horse loads the job,
runs it exactly as a forked horse does (within its timeout, callbacks and handlers
included) and writes its outcome to the pipe the parent reads, so the parent supervises
it, renews its lease, kills it at its timeout or on a stop command, and records the
outcome as for any horse. Hooks registered in the worker process (``horse_start``,
``before_job``...) do not run in a spawned horse: it does not share the worker's memory.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import traceback
from typing import Any

import redis

from .callbacks import ExceptionHandler, install_exception_handlers
from .exceptions import ConfigurationError
from .horse import run_job
from .job import Job
from .process import die_with_parent

# Started with -c rather than -m: the package imports this module, and runpy warns when
# the module it runs as __main__ is already imported.
_ENTRY = "from minirq.spawned_horse import main; main()"


def _picklable(value: Any) -> bool:
    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def _plain(value: Any) -> bool:
    """Whether a connection setting means the same in another interpreter (redis-py
    marks unset ones with sentinel objects, which would not)."""
    if isinstance(value, str | bytes | int | float | bool) or value is None:
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(_plain(k) and _plain(v) for k, v in value.items())
    return False


def horse_spec(
    job: Job,
    connection: redis.Redis,
    max_result_bytes: int,
    exception_handlers: list[ExceptionHandler],
) -> bytes:
    """What a spawned horse needs to run ``job``, pickled.

    Raises :class:`ConfigurationError` when the serializer or an exception handler cannot
    be passed to another interpreter (a lambda, an object defined in ``__main__``)."""
    pool = connection.connection_pool
    kwargs = {k: v for k, v in pool.connection_kwargs.items() if _plain(v)}
    for what, value in (("serializer", job.serializer), ("exception handlers", exception_handlers)):
        if not _picklable(value):
            raise ConfigurationError(
                f"a SpawnWorker cannot pass its {what} to a new interpreter (a lambda or "
                "an object defined in __main__?): use module-level objects"
            )
    spec = {
        "job_id": job.id,
        "prefix": job.keys.prefix,
        "connection_class": pool.connection_class,
        "connection_kwargs": kwargs,
        "serializer": job.serializer,
        "max_result_bytes": max_result_bytes,
        "exception_handlers": exception_handlers,
        "sys_path": list(sys.path),
        "parent_pid": os.getpid(),
    }
    return pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL)


def spawn_horse(spec: bytes) -> tuple[int, int]:
    """Start a horse in a new interpreter; returns its pid and the pipe to read its
    outcome from (as :func:`~minirq.horse.fork_horse` does)."""
    read_fd, write_fd = os.pipe()
    spec_r, spec_w = os.pipe()
    try:
        os.set_inheritable(write_fd, True)
        os.set_inheritable(spec_r, True)
        argv = [sys.executable, "-c", _ENTRY, str(spec_r), str(write_fd)]
        pid = os.posix_spawn(sys.executable, argv, os.environ)
    except BaseException:
        for fd in (read_fd, spec_w):
            os.close(fd)
        raise
    finally:
        os.close(write_fd)
        os.close(spec_r)
    try:
        with os.fdopen(spec_w, "wb") as pipe:
            pipe.write(spec)
    except BrokenPipeError:
        # The horse died before reading: the parent sees it end without an outcome.
        pass
    return pid, read_fd


def main() -> None:  # pragma: no cover - runs in the spawned interpreter
    """The spawned horse: read the spec, run the job, write the outcome, exit."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    spec_fd, out_fd = int(sys.argv[1]), int(sys.argv[2])
    exit_code = 1
    try:
        with os.fdopen(spec_fd, "rb") as pipe:
            spec = pickle.loads(pipe.read())
        die_with_parent(spec["parent_pid"])
        sys.path[:] = spec["sys_path"]
        pool = redis.ConnectionPool(
            connection_class=spec["connection_class"], **spec["connection_kwargs"]
        )
        connection = redis.Redis(connection_pool=pool)
        install_exception_handlers(spec["exception_handlers"])
        job = Job.fetch(spec["job_id"], connection, spec["serializer"], spec["prefix"])
        outcome = run_job(job, spec["max_result_bytes"])
        with os.fdopen(out_fd, "wb") as out:
            out.write(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
        exit_code = 0
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(exit_code)


__all__ = ["horse_spec", "main", "spawn_horse"]
