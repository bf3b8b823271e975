"""The ``minirq`` command line."""

from __future__ import annotations

import importlib
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

import click
import redis

from .connection import connect, redact_url, redis_url_from_env
from .defaults import SCHEDULER_LEASE_S
from .exceptions import MinirqError
from .job import Job
from .keys import REGISTRY_KINDS
from .queue import Queue
from .registry import REGISTRY_CLASSES
from .scheduler import Scheduler
from .utils import parse_duration
from .worker import BaseWorker, worker_class


class MinirqGroup(click.Group):
    """Turns the errors a user can cause into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            url = ctx.meta.get("minirq.url", redis_url_from_env())
            click.echo(f"Error: cannot reach Redis at {redact_url(url)}: {exc}", err=True)
            sys.exit(1)
        except redis.AuthenticationError as exc:
            click.echo(f"Error: Redis refused the credentials: {exc}", err=True)
            sys.exit(1)
        except MinirqError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)


url_option = click.option(
    "-u",
    "--url",
    envvar="REDIS_URL",
    default=None,
    help="Redis URL (default: $REDIS_URL, else redis://localhost:6379/0).",
)


def _connection(ctx: click.Context, url: str | None) -> redis.Redis:
    url = url or redis_url_from_env()
    ctx.meta["minirq.url"] = url
    connection = connect(url)
    connection.ping()
    return connection


@click.group(cls=MinirqGroup)
@click.version_option(package_name="minirq")
def main() -> None:
    """minirq: background jobs on Redis."""


@main.command()
@click.argument("queues", nargs=-1)
@url_option
@click.option("--burst", is_flag=True, help="Stop once the queues are empty.")
@click.option("--name", default=None, help="Worker name (default host:pid:random).")
@click.option(
    "--worker-class",
    "worker_class_name",
    default="fork",
    show_default=True,
    type=click.Choice(["fork", "simple"]),
    help="fork: a work-horse per job; simple: run jobs in-process.",
)
@click.option(
    "--max-jobs", type=click.IntRange(min=1), default=None, help="Stop after this many jobs."
)
@click.option(
    "--path",
    "paths",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Add a folder to the import path (repeatable; the current folder is always included).",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(min=0),
    default=25.0,
    show_default=True,
    help="Seconds a running job may finish after SIGTERM.",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=1),
    default=30.0,
    show_default=True,
    help="Seconds of a running job's lease, renewed by heartbeats.",
)
@click.option(
    "--logging-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="Also run the scheduler (delayed jobs, retries, cron) in a child process.",
)
@click.pass_context
def worker(
    ctx: click.Context,
    queues: Sequence[str],
    url: str | None,
    burst: bool,
    name: str | None,
    worker_class_name: str,
    max_jobs: int | None,
    paths: Sequence[str],
    shutdown_timeout: float,
    lease: float,
    logging_level: str,
    with_scheduler: bool,
) -> None:
    """Run a worker on QUEUES (default: "default"), highest priority first."""
    _setup_logging(logging_level)
    for path in reversed(("", *paths)):
        if path not in sys.path:
            sys.path.insert(0, path)
    connection = _connection(ctx, url)
    cls = worker_class(worker_class_name)
    w: BaseWorker = cls(
        list(queues) or ["default"],
        connection=connection,
        name=name,
        lease_s=lease,
        shutdown_timeout_s=shutdown_timeout,
    )
    w.work(burst=burst, max_jobs=max_jobs, with_scheduler=with_scheduler)


@main.command()
@click.argument("queues", nargs=-1)
@url_option
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Refresh every S seconds until interrupted.",
)
@click.pass_context
def info(
    ctx: click.Context, queues: Sequence[str], url: str | None, interval: float | None
) -> None:
    """Show queues, their job counts by state, and workers."""
    connection = _connection(ctx, url)
    while True:
        text = _render_info(connection, queues)
        if interval is None:
            click.echo(text)
            return
        click.clear()
        click.echo(text)
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return


def _render_info(connection: redis.Redis, names: Sequence[str]) -> str:
    selected = (
        [Queue(n, connection=connection) for n in names]
        if names
        else Queue.all(connection=connection)
    )
    header = f"{'queue':<24} {'queued':>8}" + "".join(f" {k:>9}" for k in REGISTRY_KINDS)
    lines = [header]
    for queue in selected:
        counts = [REGISTRY_CLASSES[k](queue=queue).count for k in REGISTRY_KINDS]
        lines.append(f"{queue.name:<24} {queue.count:>8}" + "".join(f" {c:>9}" for c in counts))
    if not selected:
        lines.append("(no queues)")
    workers = BaseWorker.all(connection=connection)
    lines.append("")
    lines.append(f"{len(workers)} worker(s)")
    for w in workers:
        job = f" job {w.current_job_id}" if w.current_job_id else ""
        lines.append(
            f"  {w.name} {w.state} on {','.join(w.queue_names)}{job} "
            f"({w.successful_job_count} ok, {w.failed_job_count} failed)"
        )
    return "\n".join(lines)


@main.command()
@click.option(
    "--queue", "-q", "queue_name", required=True, help="Queue whose failed jobs to requeue."
)
@click.option("--all", "all_jobs", is_flag=True, help="Requeue every failed job of the queue.")
@click.argument("job_ids", nargs=-1)
@url_option
@click.pass_context
def requeue(
    ctx: click.Context, queue_name: str, all_jobs: bool, job_ids: Sequence[str], url: str | None
) -> None:
    """Put failed jobs back on their queue."""
    if not all_jobs and not job_ids:
        raise click.UsageError("give job ids, or --all")
    connection = _connection(ctx, url)
    registry = Queue(queue_name, connection=connection).failed_job_registry
    if all_jobs:
        count = registry.requeue_all()
    else:
        for job_id in job_ids:
            registry.requeue(job_id)
        count = len(job_ids)
    click.echo(f"Requeued {count} job(s) on {queue_name}")


@main.command()
@click.argument("queues", nargs=-1, required=True)
@url_option
@click.pass_context
def empty(ctx: click.Context, queues: Sequence[str], url: str | None) -> None:
    """Delete every queued job of QUEUES."""
    connection = _connection(ctx, url)
    for name in queues:
        count = Queue(name, connection=connection).empty()
        click.echo(f"Emptied {name}: {count} job(s) deleted")


@main.command()
@click.argument("queue_name")
@click.argument("func")
@click.argument("args", nargs=-1)
@click.option(
    "-k",
    "--kwarg",
    "kwargs",
    multiple=True,
    metavar="NAME=JSON",
    help="A keyword argument whose value is JSON (repeatable).",
)
@click.option("--job-id", default=None)
@click.option("--timeout", default=None, help="Job timeout: seconds or text like 5m.")
@url_option
@click.pass_context
def enqueue(
    ctx: click.Context,
    queue_name: str,
    func: str,
    args: Sequence[str],
    kwargs: Sequence[str],
    job_id: str | None,
    timeout: str | None,
    url: str | None,
) -> None:
    """Enqueue FUNC (a dotted path) on QUEUE_NAME with JSON ARGS."""
    values = [_parse_json(text, f"argument {i + 1}") for i, text in enumerate(args)]
    named: dict[str, Any] = {}
    for item in kwargs:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not NAME=JSON", param_hint="--kwarg")
        named[key] = _parse_json(text, f"keyword argument {key!r}")
    connection = _connection(ctx, url)
    queue = Queue(queue_name, connection=connection)
    job: Job = queue.enqueue_call(func, args=values, kwargs=named, job_id=job_id, timeout=timeout)
    click.echo(job.id)


def _parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"{what} {text!r} is not JSON ({exc.msg}); quote text as '\"text\"'"
        ) from None


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@main.command()
@url_option
@click.option(
    "--cron-module",
    "cron_modules",
    multiple=True,
    metavar="MODULE",
    help="Import MODULE and call its register(scheduler) to add cron entries (repeatable).",
)
@click.option(
    "--path",
    "paths",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Add a folder to the import path (repeatable; the current folder is always included).",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=0.1),
    default=SCHEDULER_LEASE_S,
    show_default=True,
    help="Seconds of the active scheduler's lease; a standby takes over within 4/3 of it.",
)
@click.option("--burst", is_flag=True, help="Make one pass and stop.")
@click.option(
    "--logging-level",
    default="INFO",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
@click.pass_context
def scheduler(
    ctx: click.Context,
    url: str | None,
    cron_modules: Sequence[str],
    paths: Sequence[str],
    lease: float,
    burst: bool,
    logging_level: str,
) -> None:
    """Run a scheduler: move due jobs to their queues and enqueue cron entries.

    Run as many as you like; one is active at a time.
    """
    _setup_logging(logging_level)
    for path in reversed(("", *paths)):
        if path not in sys.path:
            sys.path.insert(0, path)
    connection = _connection(ctx, url)
    sched = Scheduler(connection, lease_s=lease)
    for module_name in cron_modules:
        _register_cron_module(sched, module_name)
    sched.run(burst=burst)


def _register_cron_module(sched: Scheduler, module_name: str) -> None:
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


@main.group()
def cron() -> None:
    """List, add and remove cron entries (stored in Redis, run by the scheduler)."""


@cron.command("list")
@url_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def cron_list(ctx: click.Context, url: str | None, as_json: bool) -> None:
    """Show every cron entry, soonest next run first."""
    entries = Scheduler(_connection(ctx, url)).entries()
    if as_json:
        click.echo(json.dumps([e.to_dict() for e in entries], indent=2))
        return
    if not entries:
        click.echo("(no cron entries)")
        return
    for e in entries:
        last = e.last_run.isoformat() if e.last_run else "never"
        nxt = e.next_run.isoformat() if e.next_run else "-"
        click.echo(
            f"{e.name}: {e.func_name} on {e.queue_name}, {e.schedule} ({e.timezone}); "
            f"next {nxt}, last {last}, last job {e.last_job_id or '-'}"
        )


@cron.command("add")
@click.argument("func")
@click.argument("args", nargs=-1)
@click.option("--cron", "cron_string", default=None, help="Cron string, e.g. '*/5 * * * *'.")
@click.option("--every", default=None, help="Interval: seconds or text like 30s, 5m, 1h.")
@click.option("--name", default=None, help="Entry name (default: FUNC and schedule).")
@click.option("--queue", "queue_name", default="default", show_default=True)
@click.option("--timezone", default="UTC", show_default=True, help="IANA time zone.")
@click.option(
    "--misfire", type=click.Choice(["once", "skip", "all"]), default="once", show_default=True
)
@click.option(
    "-k",
    "--kwarg",
    "kwargs",
    multiple=True,
    metavar="NAME=JSON",
    help="A keyword argument whose value is JSON (repeatable).",
)
@url_option
@click.pass_context
def cron_add(
    ctx: click.Context,
    func: str,
    args: Sequence[str],
    cron_string: str | None,
    every: str | None,
    name: str | None,
    queue_name: str,
    timezone: str,
    misfire: str,
    kwargs: Sequence[str],
    url: str | None,
) -> None:
    """Add or update an entry running FUNC (a dotted path) with JSON ARGS."""
    if (cron_string is None) == (every is None):
        raise click.UsageError("give either --cron or --every")
    values = [_parse_json(text, f"argument {i + 1}") for i, text in enumerate(args)]
    named: dict[str, Any] = {}
    for item in kwargs:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not NAME=JSON", param_hint="--kwarg")
        named[key] = _parse_json(text, f"keyword argument {key!r}")
    sched = Scheduler(_connection(ctx, url))
    if cron_string is not None:
        entry = sched.cron(
            cron_string,
            func,
            args=values,
            kwargs=named,
            queue_name=queue_name,
            name=name,
            timezone=timezone,
            misfire=misfire,
        )
    else:
        assert every is not None
        entry = sched.every(
            parse_duration(every, "--every", allow_zero=False),
            func,
            args=values,
            kwargs=named,
            queue_name=queue_name,
            name=name,
            misfire=misfire,
        )
    next_run = entry.next_run.isoformat() if entry.next_run else "-"
    click.echo(f"{entry.name}: next run {next_run}")


@cron.command("remove")
@click.argument("name")
@url_option
@click.pass_context
def cron_remove(ctx: click.Context, name: str, url: str | None) -> None:
    """Delete the entry NAME."""
    if not Scheduler(_connection(ctx, url)).remove(name):
        raise click.ClickException(f"no cron entry named {name!r}")
    click.echo(f"Removed {name}")
