"""The flags of ``minirq worker``: minirq's own and RQ's (so that a Procfile or systemd
unit written for ``rq worker`` runs with ``rq`` replaced by ``minirq``).

The flags are a list (``WORKER_OPTIONS``) and reach the command as one mapping, so a flag
is added in two places: its option here and where :func:`worker_kwargs`,
:func:`worker_settings_flags` or :func:`work_kwargs` reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import click

from ..config import Settings
from ..defaults import DEFAULT_MAX_RESULT_BYTES
from ..worker_records import DequeueStrategy
from .options import (
    connection_options,
    date_format_option,
    log_format_option,
    logging_level_option,
    path_option,
    resolve_serializer,
    serializer_option,
    verbosity_options,
)

logger = logging.getLogger("minirq.cli")

# RQ's flags that have no counterpart in minirq: accepted so that RQ command lines run.
IGNORED_RQ_FLAGS = {
    "maintenance_interval": "housekeeping runs with every worker's heartbeat",
    "job_monitoring_interval": "leases renewed by heartbeats replace it (see --lease)",
    "disable_job_desc_logging": "job lines name the function, never its arguments",
    "connection_class": "the client is redis.Redis, built from --url",
}

RQ_CLASS_OPTIONS: list[Callable[[Any], Any]] = [
    click.option(
        "-j",
        "--job-class",
        default=None,
        envvar="RQ_JOB_CLASS",
        metavar="DOTTED.PATH",
        help="Job class (a minirq.Job subclass) the worker builds jobs with.",
    ),
    click.option(
        "--queue-class",
        default=None,
        envvar="RQ_QUEUE_CLASS",
        metavar="DOTTED.PATH",
        help="Queue class (a minirq.Queue subclass) for the queues named.",
    ),
    click.option("--connection-class", default=None, hidden=True),
]

WORKER_OPTIONS: list[Callable[[Any], Any]] = [
    connection_options,
    click.option("-b", "--burst", is_flag=True, help="Stop once the queues are empty."),
    click.option("-n", "--name", default=None, help="Worker name (default host:pid:random)."),
    click.option(
        "-w",
        "--worker-class",
        "worker_class_name",
        default=None,
        envvar="RQ_WORKER_CLASS",
        metavar="CLASS",
        help="fork (Worker, the default: a work-horse per job), simple (SimpleWorker: "
        "in-process), SpawnWorker, HerokuWorker, RoundRobinWorker, RandomWorker, or a "
        "dotted path such as myapp.workers.MyWorker.",
    ),
    *RQ_CLASS_OPTIONS,
    click.option(
        "--max-jobs", type=click.IntRange(min=1), default=None, help="Stop after this many jobs."
    ),
    click.option(
        "--max-idle-time",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="S",
        help="Stop once no job has run for S seconds.",
    ),
    click.option(
        "-ds",
        "--dequeue-strategy",
        type=click.Choice([s.value for s in DequeueStrategy]),
        default=None,
        help="default: strict priority in the order given; round_robin: take the queues "
        "in turn; random: a random order for each fetch.",
    ),
    click.option(
        "--results-ttl",
        type=click.IntRange(min=-1),
        default=None,
        metavar="S",
        help="Seconds a finished job is kept, for jobs enqueued without result_ttl (default 500).",
    ),
    click.option(
        "--worker-ttl",
        type=click.IntRange(min=1),
        default=None,
        metavar="S",
        help="Seconds the worker's record outlives its last heartbeat (default: lease + 5).",
    ),
    path_option,
    click.option(
        "--shutdown-timeout",
        type=click.FloatRange(min=0),
        default=None,
        help="Seconds a running job may finish after SIGTERM (default 25).",
    ),
    click.option(
        "--lease",
        type=click.FloatRange(min=1),
        default=None,
        help="Seconds of a running job's lease, renewed by heartbeats (default 30).",
    ),
    logging_level_option,
    *verbosity_options,
    log_format_option,
    date_format_option,
    click.option(
        "--pid",
        "pid_file",
        default=None,
        metavar="FILE",
        type=click.Path(dir_okay=False, writable=True),
        help="Write the worker's process id to FILE.",
    ),
    click.option(
        "--pool",
        "pool_size",
        type=click.IntRange(min=1),
        default=None,
        help="Run jobs in N work-horses forked once and reused (a prefork pool).",
    ),
    click.option(
        "--max-jobs-per-child",
        type=click.IntRange(min=1),
        default=None,
        help="With --pool: replace a work-horse after this many jobs.",
    ),
    click.option(
        "--max-memory-per-child",
        type=click.FloatRange(min=0, min_open=True),
        default=None,
        metavar="MB",
        help="With --pool: replace a work-horse once it uses this many MB of memory.",
    ),
    click.option(
        "--max-result-size",
        "max_result_bytes",
        type=click.IntRange(min=1),
        default=DEFAULT_MAX_RESULT_BYTES,
        show_default=True,
        help="Bytes a serialized result may take; a larger one fails its job.",
    ),
    click.option(
        "--no-scheduler",
        is_flag=True,
        help="Do not run the scheduler (delayed jobs, retries with a delay, cron) in this "
        "worker. By default every worker runs one in a child process; one is active at a "
        "time, the others stand by.",
    ),
    click.option(
        "-s",
        "--with-scheduler",
        is_flag=True,
        help="Accepted for RQ command lines: the scheduler runs by default.",
    ),
    click.option(
        "--exception-handler",
        "exception_handlers",
        multiple=True,
        metavar="DOTTED.PATH",
        help="Call this function on each job failure (repeatable; in order, until one "
        "returns False).",
    ),
    click.option(
        "-d",
        "--disable-default-exception-handler",
        is_flag=True,
        help="Accepted for RQ command lines: minirq records every failure whatever the "
        "handlers do, so there is no default handler to turn off.",
    ),
    click.option(
        "--allow-module",
        "allow_modules",
        multiple=True,
        metavar="MODULE",
        help="Run only job and callback functions from MODULE and its submodules "
        "(repeatable; default: $MINIRQ_ALLOW_MODULES, comma-separated, else any).",
    ),
    serializer_option,
    click.option("--maintenance-interval", type=int, default=None, hidden=True),
    click.option("--job-monitoring-interval", type=int, default=None, hidden=True),
    click.option("--disable-job-desc-logging", is_flag=True, hidden=True),
]


def apply_options(options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def decorate(f: Any) -> Any:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def _settings_log_format(value: str | None) -> str | None:
    """``text``/``json`` are a setting; a logging format string is passed on as it is."""
    return value if value in (None, "text", "json") else None


def worker_settings_flags(queues: tuple[str, ...], options: Mapping[str, Any]) -> dict[str, Any]:
    """The worker flags that are settings (also read from the environment and module)."""
    return {
        "queues": list(queues) or None,
        "worker_class": options["worker_class_name"],
        "shutdown_timeout_s": options["shutdown_timeout"],
        "lease_s": options["lease"],
        "log_level": options["logging_level"],
        "log_format": _settings_log_format(options["log_format"]),
        "allow_modules": list(options["allow_modules"]) or None,
    }


def worker_kwargs(settings: Settings, options: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for the worker class, from the settings and the other flags."""
    kwargs: dict[str, Any] = {
        "name": options["name"],
        "prefix": settings.prefix,
        "lease_s": settings.lease_s,
        "shutdown_timeout_s": settings.shutdown_timeout_s,
        "max_result_bytes": options["max_result_bytes"],
        "exception_handlers": options["exception_handlers"],
        "serializer": resolve_serializer(options["serializer"]),
        # Empty means no limit, as the setting's default.
        "allowed_modules": list(settings.allow_modules) or None,
    }
    rq_options = {
        "default_result_ttl": options.get("results_ttl"),
        "worker_ttl": options.get("worker_ttl"),
        "job_class": options.get("job_class"),
        "queue_class": options.get("queue_class"),
    }
    kwargs.update({k: v for k, v in rq_options.items() if v is not None})
    if options.get("disable_default_exception_handler"):
        kwargs["disable_default_exception_handler"] = True
    if options["pool_size"] is not None:
        kwargs.update(
            size=options["pool_size"],
            max_jobs_per_child=options["max_jobs_per_child"],
            max_memory_per_child_mb=options["max_memory_per_child"],
        )
    return kwargs


def work_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``work()`` from the flags."""
    kwargs: dict[str, Any] = {
        "burst": options["burst"],
        "max_jobs": options["max_jobs"],
        "with_scheduler": not options["no_scheduler"],
        "max_idle_time": options.get("max_idle_time"),
    }
    if options.get("dequeue_strategy"):
        kwargs["dequeue_strategy"] = options["dequeue_strategy"]
    return kwargs


def note_ignored_flags(options: Mapping[str, Any]) -> None:
    """One log line for each RQ flag given that has no effect here, with the reason."""
    for flag, reason in IGNORED_RQ_FLAGS.items():
        if options.get(flag):
            logger.info("--%s has no effect in minirq: %s", flag.replace("_", "-"), reason)


__all__ = [
    "RQ_CLASS_OPTIONS",
    "WORKER_OPTIONS",
    "apply_options",
    "note_ignored_flags",
    "work_kwargs",
    "worker_kwargs",
    "worker_settings_flags",
]
