"""``minirq worker``, ``minirq worker-pool`` and ``minirq scheduler``: the long-running
processes. The worker's flags are in :mod:`.worker_flags`."""

from __future__ import annotations

import importlib
import logging
import logging.config
import os
from collections.abc import Mapping
from typing import Any

import click
import redis

from ..config import SETTINGS_MODULE_ENV, Settings, import_settings_module
from ..defaults import SCHEDULER_LEASE_S
from ..exceptions import ConfigurationError
from ..logs import setup_logging
from ..pool import DEFAULT_POOL_SIZE, WorkerPool
from ..scheduler import Scheduler
from ..worker import BaseWorker, Worker, worker_class
from .context import CliContext, pass_cli
from .options import (
    add_to_path,
    connection_options,
    date_format_option,
    level_from_flags,
    log_format_option,
    logging_level_option,
    path_option,
    serializer_option,
    verbosity_options,
)
from .worker_flags import (
    RQ_CLASS_OPTIONS,
    WORKER_OPTIONS,
    apply_options,
    note_ignored_flags,
    work_kwargs,
    worker_kwargs,
    worker_settings_flags,
)

logger = logging.getLogger("minirq.cli")


def build_worker(cli: CliContext, settings: Settings, options: Mapping[str, Any]) -> BaseWorker:
    cls = WorkerPool if options["pool_size"] is not None else worker_class(settings.worker_class)
    return cls(list(settings.queues), connection=cli.client(), **worker_kwargs(settings, options))


def worker_module_settings(config_module: str | None) -> dict[str, Any]:
    """RQ's worker settings in the settings module: ``NAME`` and ``DICT_CONFIG``."""
    module_name = config_module or os.environ.get(SETTINGS_MODULE_ENV)
    if not module_name:
        return {}
    loaded = import_settings_module(module_name)
    return {k: getattr(loaded, k) for k in ("NAME", "DICT_CONFIG") if hasattr(loaded, k)}


def set_up_logs(settings: Settings, options: Mapping[str, Any], dict_config: Any = None) -> None:
    """Log output from the flags (``-v``/``-q`` win over ``--logging-level``), or from
    the settings module's ``DICT_CONFIG`` (a :func:`logging.config.dictConfig` dict)."""
    level = level_from_flags(settings.log_level, options["verbose"], options["quiet"])
    if dict_config is not None:
        try:
            logging.config.dictConfig(dict_config)
        except (ValueError, TypeError, AttributeError, ImportError) as exc:
            raise ConfigurationError(f"DICT_CONFIG in the settings module: {exc}") from None
        return
    log_format = options["log_format"] or settings.log_format
    setup_logging(level or settings.log_level, log_format, None, options["date_format"])


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
@apply_options(WORKER_OPTIONS)
@pass_cli
def worker(cli: CliContext, /, queues: tuple[str, ...], **options: Any) -> None:
    """Run a worker on QUEUES (default: "default"), highest priority first."""
    if options["no_scheduler"] and options["with_scheduler"]:
        raise click.UsageError("--no-scheduler and --with-scheduler contradict each other")
    if options["pool_size"] is None and (
        options["max_jobs_per_child"] or options["max_memory_per_child"]
    ):
        raise click.UsageError("--max-jobs-per-child and --max-memory-per-child need --pool N")
    if options["pool_size"] is not None and options["worker_class_name"] is not None:
        raise click.UsageError("--pool runs its own work-horses: leave out --worker-class")
    level_from_flags(None, options["verbose"], options["quiet"])
    add_to_path(options["paths"])
    settings = cli.load(
        options["url"], options["config_module"], worker_settings_flags(queues, options)
    )
    module_settings = worker_module_settings(options["config_module"])
    set_up_logs(settings, options, module_settings.get("DICT_CONFIG"))
    note_ignored_flags(options)
    check_reachable(cli.client())
    logger.info("using Redis at %s (prefix %s)", cli.shown_url, settings.prefix)
    if options["name"] is None and module_settings.get("NAME"):
        options = {**options, "name": str(module_settings["NAME"])}
    w = build_worker(cli, settings, options)
    write_pid_file(options["pid_file"])
    w.work(**work_kwargs(options))


def write_pid_file(path: str | None) -> None:
    if path is not None:
        with open(os.path.expanduser(path), "w") as pid_file:
            pid_file.write(str(os.getpid()))


@click.command("worker-pool")
@click.argument("queues", nargs=-1)
@connection_options
@click.option(
    "-n",
    "--num-workers",
    type=click.IntRange(min=1),
    default=DEFAULT_POOL_SIZE,
    show_default=True,
    help="How many jobs run at once, each in a work-horse forked once and reused.",
)
@click.option("-b", "--burst", is_flag=True, help="Stop once the queues are empty.")
@click.option(
    "-w",
    "--worker-class",
    "worker_class_name",
    default=None,
    help="Accepted for RQ command lines when it names the forking Worker.",
)
@apply_options(
    [
        *RQ_CLASS_OPTIONS,
        logging_level_option,
        *verbosity_options,
        log_format_option,
        date_format_option,
        path_option,
        serializer_option,
        click.option("--exception-handler", "exception_handlers", multiple=True),
        click.option("--no-scheduler", is_flag=True, help="Do not run the scheduler."),
    ]
)
@pass_cli
def worker_pool(cli: CliContext, /, queues: tuple[str, ...], **options: Any) -> None:
    """Run N jobs at a time from QUEUES (RQ's worker-pool; minirq's `worker --pool N`)."""
    name = options.pop("worker_class_name")
    if name is not None and worker_class(name) is not Worker:
        raise click.BadParameter(
            f"{name} cannot run in a pool; run several `minirq worker -w {name}` instead",
            param_hint="--worker-class",
        )
    size = options.pop("num_workers")
    # The worker command's other flags take their defaults.
    click.get_current_context().invoke(worker, queues=queues, pool_size=size, **options)


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
    setting = log_format if log_format in (None, "text", "json") else None
    settings = cli.load(url, config_module, {"log_level": logging_level, "log_format": setting})
    setup_logging(settings.log_level, log_format or settings.log_format)
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


__all__ = [
    "WORKER_OPTIONS",
    "build_worker",
    "scheduler",
    "worker",
    "worker_kwargs",
    "worker_pool",
    "worker_settings_flags",
]
