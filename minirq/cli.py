"""The ``minirq`` command line."""

from __future__ import annotations

import ipaddress
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import Any

import click
import redis

from .connection import connect, redact_url, redis_url_from_env
from .exceptions import MinirqError
from .job import Job
from .keys import REGISTRY_KINDS
from .queue import Queue
from .registry import REGISTRY_CLASSES
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


@main.command()
@url_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    envvar="PORT",
    default=9181,
    help="Port to listen on (default: $PORT, else 9181).",
)
@click.option("--url-prefix", default="", help="Serve under this path, such as /rq.")
@click.option(
    "--username",
    envvar="MINIRQ_DASHBOARD_USERNAME",
    default="admin",
    show_default=True,
    help="Login name when a password is set.",
)
@click.option(
    "--password",
    envvar="MINIRQ_DASHBOARD_PASSWORD",
    default=None,
    help="Require HTTP Basic login with this password (default: $MINIRQ_DASHBOARD_PASSWORD).",
)
@click.option("--read-only", is_flag=True, help="Show everything, change nothing.")
@click.option(
    "--no-auth",
    is_flag=True,
    help="Serve a non-loopback address without a password (something else guards it).",
)
@click.pass_context
def dashboard(
    ctx: click.Context,
    url: str | None,
    host: str,
    port: int,
    url_prefix: str,
    username: str,
    password: str | None,
    read_only: bool,
    no_auth: bool,
) -> None:
    """Serve the web dashboard (needs the `dashboard` extra: pip install 'minirq[dashboard]')."""
    try:
        from werkzeug.serving import make_server

        from dashboard.app import config_from_env, create_app
    except ImportError as exc:
        raise click.ClickException(
            f"the dashboard needs Flask ({exc}); install it with: pip install 'minirq[dashboard]'"
        ) from None
    if not password and not no_auth and not _is_loopback(host):
        raise click.UsageError(
            f"refusing to serve the dashboard on {host} without a password: give --password "
            "(or MINIRQ_DASHBOARD_PASSWORD), or --no-auth if something else guards it"
        )
    connection = _connection(ctx, url)
    config = config_from_env()
    config.update(
        MINIRQ_REDIS_CONNECTION=connection,
        MINIRQ_DASHBOARD_URL_PREFIX=url_prefix,
        MINIRQ_DASHBOARD_USERNAME=username,
        MINIRQ_DASHBOARD_PASSWORD=password or "",
        MINIRQ_DASHBOARD_READ_ONLY=read_only,
    )
    app = create_app(config)
    server = make_server(host, port, app, threaded=True)
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"minirq dashboard on http://{shown}:{server.server_port}{url_prefix.rstrip('/')}/ "
        f"(Redis {redact_url(ctx.meta['minirq.url'])}"
        f"{', read-only' if read_only else ''}{', login required' if password else ''})"
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
