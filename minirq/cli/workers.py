"""``minirq worker`` and ``minirq scheduler``: the long-running processes.

The worker's flags are a list (``WORKER_OPTIONS``) and reach the command as one mapping,
so a flag is added in two places: its option here and where :func:`worker_kwargs` or
:func:`worker_settings_flags` reads it.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

import click
import redis

from ..async_worker import DEFAULT_CONCURRENCY, AsyncWorker
from ..config import Settings
from ..defaults import DEFAULT_MAX_RESULT_BYTES, SCHEDULER_LEASE_S
from ..logs import setup_logging
from ..pool import WorkerPool
from ..scheduler import Scheduler
from ..worker import BaseWorker, worker_class
from .context import CliContext, pass_cli
from .options import (
    add_to_path,
    connection_options,
    log_format_option,
    logging_level_option,
    path_option,
    resolve_serializer,
    serializer_option,
)

logger = logging.getLogger("minirq.cli")

WORKER_OPTIONS: list[Callable[[Any], Any]] = [
    connection_options,
    click.option("--burst", is_flag=True, help="Stop once the queues are empty."),
    click.option("--name", default=None, help="Worker name (default host:pid:random)."),
    click.option(
        "--worker-class",
        "worker_class_name",
        default=None,
        type=click.Choice(["fork", "simple", "async"]),
        help="fork: a work-horse per job (default); simple: run jobs in-process; async: "
        "run up to --concurrency jobs at once on one asyncio event loop.",
    ),
    click.option(
        "--concurrency",
        type=click.IntRange(min=1),
        default=None,
        help=f"With --worker-class async: jobs run at once (default {DEFAULT_CONCURRENCY}).",
    ),
    click.option(
        "--max-jobs", type=click.IntRange(min=1), default=None, help="Stop after this many jobs."
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
    log_format_option,
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
        "--with-scheduler",
        is_flag=True,
        hidden=True,
        help="Accepted for older command lines: the scheduler runs by default.",
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
        "--allow-module",
        "allow_modules",
        multiple=True,
        metavar="MODULE",
        help="Run only job and callback functions from MODULE and its submodules "
        "(repeatable; default: $MINIRQ_ALLOW_MODULES, comma-separated, else any).",
    ),
    serializer_option,
]


def _apply(options: list[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def decorate(f: Any) -> Any:
        for option in reversed(options):
            f = option(f)
        return f

    return decorate


def worker_settings_flags(queues: tuple[str, ...], options: Mapping[str, Any]) -> dict[str, Any]:
    """The worker flags that are settings (also read from the environment and module)."""
    return {
        "queues": list(queues) or None,
        "worker_class": options["worker_class_name"],
        "shutdown_timeout_s": options["shutdown_timeout"],
        "lease_s": options["lease"],
        "log_level": options["logging_level"],
        "log_format": options["log_format"],
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
    if options["pool_size"] is not None:
        kwargs.update(
            size=options["pool_size"],
            max_jobs_per_child=options["max_jobs_per_child"],
            max_memory_per_child_mb=options["max_memory_per_child"],
        )
    return kwargs


def build_worker(cli: CliContext, settings: Settings, options: Mapping[str, Any]) -> BaseWorker:
    kwargs = worker_kwargs(settings, options)
    if settings.worker_class == "async":
        if options["pool_size"] is not None:
            raise click.UsageError("--pool and --worker-class async are two executors; pick one")
        concurrency = options.get("concurrency") or DEFAULT_CONCURRENCY
        return AsyncWorker(
            list(settings.queues), connection=cli.client(), concurrency=concurrency, **kwargs
        )
    if options.get("concurrency") is not None:
        raise click.UsageError("--concurrency needs --worker-class async")
    cls = WorkerPool if options["pool_size"] is not None else worker_class(settings.worker_class)
    return cls(list(settings.queues), connection=cli.client(), **kwargs)


def check_reachable(connection: redis.Redis) -> None:
    """Refuse settings Redis rejects (credentials, database number) before starting.

    An unreachable Redis is not refused: the worker waits for it (logging once), so that a
    process supervisor does not restart it in a loop.
    """
    try:
        connection.ping()
    except redis.AuthenticationError:
        raise
    except (redis.ConnectionError, redis.TimeoutError):
        return


@click.command()
@click.argument("queues", nargs=-1)
@_apply(WORKER_OPTIONS)
@pass_cli
def worker(cli: CliContext, /, queues: tuple[str, ...], **options: Any) -> None:
    """Run a worker on QUEUES (default: "default"), highest priority first."""
    if options["no_scheduler"] and options["with_scheduler"]:
        raise click.UsageError("--no-scheduler and --with-scheduler contradict each other")
    if options["pool_size"] is None and (
        options["max_jobs_per_child"] or options["max_memory_per_child"]
    ):
        raise click.UsageError("--max-jobs-per-child and --max-memory-per-child need --pool N")
    add_to_path(options["paths"])
    settings = cli.load(
        options["url"], options["config_module"], worker_settings_flags(queues, options)
    )
    setup_logging(settings.log_level, settings.log_format)
    check_reachable(cli.client())
    logger.info("using Redis at %s (prefix %s)", cli.shown_url, settings.prefix)
    w = build_worker(cli, settings, options)
    w.work(
        burst=options["burst"],
        max_jobs=options["max_jobs"],
        with_scheduler=not options["no_scheduler"],
    )


@click.command()
@connection_options
@click.option(
    "--cron-module",
    "cron_modules",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE and call its register(scheduler) to add cron entries (repeatable).",
)
@path_option
@click.option(
    "--lease",
    type=click.FloatRange(min=0.1),
    default=SCHEDULER_LEASE_S,
    show_default=True,
    help="Seconds of the active scheduler's lease; a standby takes over within 4/3 of it.",
)
@click.option("--burst", is_flag=True, help="Make one pass and stop.")
@logging_level_option
@log_format_option
@pass_cli
def scheduler(
    cli: CliContext,
    url: str | None,
    config_module: str | None,
    cron_modules: tuple[str, ...],
    paths: tuple[str, ...],
    lease: float,
    burst: bool,
    logging_level: str | None,
    log_format: str | None,
) -> None:
    """Run a scheduler: move due jobs to their queues and enqueue cron entries.

    Run as many as you like; one is active at a time.
    """
    add_to_path(paths)
    settings = cli.load(url, config_module, {"log_level": logging_level, "log_format": log_format})
    setup_logging(settings.log_level, settings.log_format)
    sched = Scheduler(cli.connection, prefix=cli.prefix, lease_s=lease)
    for module_name in cron_modules:
        register_cron_module(sched, module_name)
    sched.run(burst=burst)


def register_cron_module(sched: Scheduler, module_name: str) -> None:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise click.BadParameter(
            f"cannot import {module_name!r}: {exc}", param_hint="--cron-module"
        ) from None
    register = getattr(module, "register", None)
    if not callable(register):
        raise click.BadParameter(
            f"module {module_name!r} has no register(scheduler) function",
            param_hint="--cron-module",
        )
    register(sched)


__all__ = ["WORKER_OPTIONS", "build_worker", "scheduler", "worker", "worker_kwargs"]
