"""The ``minirq`` command line."""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

import click
import redis

from . import suspension
from .commands import send_shutdown_command, send_stop_job_command
from .connection import connect, redact_url, redis_url_from_env
from .exceptions import ConfigurationError, MinirqError
from .job import Job
from .keys import REGISTRY_KINDS
from .queue import Queue
from .registry import REGISTRY_CLASSES
from .serializers import SERIALIZERS, Serializer
from .utils import import_attribute
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


serializer_option = click.option(
    "--serializer",
    default=None,
    metavar="NAME|DOTTED.PATH",
    help="pickle (default), json, or the dotted path of an object with dumps() and "
    "loads(); enqueuer and worker must use the same.",
)


def _serializer(value: str | None) -> Serializer | str | None:
    """A serializer name as is, or the object a dotted path names."""
    if value is None or value in SERIALIZERS:
        return value
    if "." not in value:
        raise ConfigurationError(
            f"unknown serializer {value!r}; choose one of {sorted(SERIALIZERS)} or give the "
            "dotted path of an object with dumps() and loads()"
        )
    try:
        return import_attribute(value)  # type: ignore[no-any-return]
    except Exception as exc:
        raise ConfigurationError(
            f"cannot import serializer {value!r}: {type(exc).__name__}: {exc}"
        ) from exc


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
    "--exception-handler",
    "exception_handlers",
    multiple=True,
    metavar="DOTTED.PATH",
    help="Call this function on each job failure (repeatable; in order, until one "
    "returns False).",
)
@serializer_option
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
    exception_handlers: Sequence[str],
    serializer: str | None,
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
        exception_handlers=exception_handlers,
        serializer=_serializer(serializer),
    )
    w.work(burst=burst, max_jobs=max_jobs)


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
@serializer_option
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
    serializer: str | None,
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
    queue = Queue(queue_name, connection=connection, serializer=_serializer(serializer))
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


# -- job features: pause, suspend, stop, shutdown ----------------------------------------


@main.command()
@click.argument("queues", nargs=-1, required=True)
@url_option
@click.pass_context
def pause(ctx: click.Context, queues: Sequence[str], url: str | None) -> None:
    """Make workers skip QUEUES (within about a second) until `minirq resume QUEUES`."""
    connection = _connection(ctx, url)
    for name in queues:
        Queue(name, connection=connection).pause()
        click.echo(f"Paused {name}")


@main.command()
@click.argument("queues", nargs=-1)
@url_option
@click.pass_context
def resume(ctx: click.Context, queues: Sequence[str], url: str | None) -> None:
    """Resume QUEUES; without QUEUES, lift `minirq suspend`."""
    connection = _connection(ctx, url)
    if not queues:
        suspension.resume(connection)
        click.echo("Workers resumed")
        return
    for name in queues:
        Queue(name, connection=connection).resume()
        click.echo(f"Resumed {name}")


@main.command()
@click.option(
    "--duration",
    type=click.IntRange(min=1),
    default=None,
    help="Seconds after which the suspension ends by itself.",
)
@url_option
@click.pass_context
def suspend(ctx: click.Context, duration: int | None, url: str | None) -> None:
    """Make every worker stop fetching jobs (running jobs finish) until `minirq resume`."""
    connection = _connection(ctx, url)
    suspension.suspend(connection, duration)
    until = f" for {duration} s" if duration else " until `minirq resume`"
    click.echo(f"Workers suspended{until}")


@main.command()
@click.argument("job_ids", nargs=-1, required=True)
@url_option
@click.pass_context
def stop(ctx: click.Context, job_ids: Sequence[str], url: str | None) -> None:
    """Stop running jobs on whichever worker runs them (they end `stopped`)."""
    connection = _connection(ctx, url)
    for job_id in job_ids:
        send_stop_job_command(connection, job_id)
        click.echo(f"Stop sent to job {job_id}")


@main.command()
@click.argument("worker_names", nargs=-1, required=True)
@url_option
@click.pass_context
def shutdown(ctx: click.Context, worker_names: Sequence[str], url: str | None) -> None:
    """Ask workers to stop after their current job, as on SIGTERM."""
    connection = _connection(ctx, url)
    missing = [n for n in worker_names if not send_shutdown_command(connection, n)]
    for name in worker_names:
        if name not in missing:
            click.echo(f"Shutdown sent to {name}")
    if missing:
        raise click.ClickException(f"no listening worker named {', '.join(missing)}")
