"""The ``minirq`` command line."""

from __future__ import annotations

import importlib
import ipaddress
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
from .config import Settings, load_settings
from .connection import redact_url, redis_url_from_env
from .defaults import DEFAULT_MAX_RESULT_BYTES, SCHEDULER_LEASE_S
from .exceptions import ConfigurationError, MinirqError
from .job import Job
from .keys import REGISTRY_KINDS, Keys
from .logs import setup_logging
from .pool import WorkerPool
from .queue import Queue
from .registry import REGISTRY_CLASSES
from .scheduler import Scheduler
from .serializers import SERIALIZERS, Serializer
from .utils import decode, import_attribute, parse_duration
from .worker import BaseWorker, worker_class


class MinirqGroup(click.Group):
    """Turns the errors a user can cause into one clear line and a non-zero exit."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except redis.AuthenticationError as exc:
            # Before ConnectionError, which it derives from.
            click.echo(f"Error: Redis refused the credentials: {exc}", err=True)
            sys.exit(1)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            url = ctx.meta.get("minirq.url", redis_url_from_env())
            click.echo(f"Error: cannot reach Redis at {redact_url(url)}: {exc}", err=True)
            sys.exit(1)
        except MinirqError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(1)


url_option = click.option(
    "-u",
    "--url",
    default=None,
    help="Redis URL (default: $REDIS_URL, else redis://localhost:6379/0).",
)
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


config_option = click.option(
    "-c",
    "--config",
    "config_module",
    default=None,
    metavar="MODULE",
    help="Settings module, e.g. myapp.minirq_settings (default: $MINIRQ_SETTINGS).",
)


def _connection(
    ctx: click.Context, url: str | None = None, settings: Settings | None = None
) -> redis.Redis:
    """A connected client for ``settings``, else for ``url`` and the environment."""
    if settings is None:
        settings = load_settings({"redis_url": url}, flag_names={"redis_url": "--url"})
    ctx.meta["minirq.url"] = settings.redis_url
    connection = settings.connect()
    ctx.call_on_close(connection.close)
    connection.ping()
    return connection


def _add_to_path(paths: Sequence[str] = ()) -> None:
    """Make the current folder (and ``paths``) importable, as ``python -m`` would."""
    for path in reversed(("", *paths)):
        if path not in sys.path:
            sys.path.insert(0, path)


@click.group(cls=MinirqGroup)
@click.version_option(package_name="minirq")
def main() -> None:
    """minirq: background jobs on Redis."""


@main.command()
@click.argument("queues", nargs=-1)
@url_option
@config_option
@click.option("--burst", is_flag=True, help="Stop once the queues are empty.")
@click.option("--name", default=None, help="Worker name (default host:pid:random).")
@click.option(
    "--worker-class",
    "worker_class_name",
    default=None,
    type=click.Choice(["fork", "simple"]),
    help="fork: a work-horse per job (default); simple: run jobs in-process.",
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
    default=None,
    help="Seconds a running job may finish after SIGTERM (default 25).",
)
@click.option(
    "--lease",
    type=click.FloatRange(min=1),
    default=None,
    help="Seconds of a running job's lease, renewed by heartbeats (default 30).",
)
@click.option(
    "--logging-level",
    default=None,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Default INFO.",
)
@click.option(
    "--log-format",
    default=None,
    type=click.Choice(["text", "json"]),
    help="text (default), or json: one object per line for log drains.",
)
@click.option(
    "--pool",
    "pool_size",
    type=click.IntRange(min=1),
    default=None,
    help="Run jobs in N work-horses forked once and reused (a prefork pool).",
)
@click.option(
    "--max-jobs-per-child",
    type=click.IntRange(min=1),
    default=None,
    help="With --pool: replace a work-horse after this many jobs.",
)
@click.option(
    "--max-memory-per-child",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="MB",
    help="With --pool: replace a work-horse once it uses this many MB of memory.",
)
@click.option(
    "--max-result-size",
    "max_result_bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_RESULT_BYTES,
    show_default=True,
    help="Bytes a serialized result may take; a larger one fails its job.",
)
@click.option(
    "--with-scheduler",
    is_flag=True,
    help="Also run the scheduler (delayed jobs, retries, cron) in a child process.",
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
    config_module: str | None,
    burst: bool,
    name: str | None,
    worker_class_name: str | None,
    max_jobs: int | None,
    paths: Sequence[str],
    shutdown_timeout: float | None,
    lease: float | None,
    logging_level: str | None,
    log_format: str | None,
    pool_size: int | None,
    max_jobs_per_child: int | None,
    max_memory_per_child: float | None,
    max_result_bytes: int,
    with_scheduler: bool,
    exception_handlers: Sequence[str],
    serializer: str | None,
) -> None:
    """Run a worker on QUEUES (default: "default"), highest priority first."""
    if pool_size is None and (max_jobs_per_child or max_memory_per_child):
        raise click.UsageError("--max-jobs-per-child and --max-memory-per-child need --pool N")
    _add_to_path(paths)
    settings = load_settings(
        {
            "redis_url": url,
            "queues": list(queues) or None,
            "worker_class": worker_class_name,
            "shutdown_timeout_s": shutdown_timeout,
            "lease_s": lease,
            "log_level": logging_level,
            "log_format": log_format,
        },
        module=config_module,
        flag_names=_FLAG_NAMES,
    )
    setup_logging(settings.log_level, settings.log_format)
    # No ping: a worker started while Redis is down waits for it (logging once) instead
    # of exiting, so that a process supervisor does not restart it in a loop.
    ctx.meta["minirq.url"] = settings.redis_url
    connection = settings.connect()
    ctx.call_on_close(connection.close)
    logging.getLogger("minirq.cli").info("using Redis at %s", redact_url(settings.redis_url))
    w: BaseWorker
    if pool_size is not None:
        w = WorkerPool(
            list(settings.queues),
            connection=connection,
            name=name,
            prefix=settings.prefix,
            lease_s=settings.lease_s,
            shutdown_timeout_s=settings.shutdown_timeout_s,
            max_result_bytes=max_result_bytes,
            exception_handlers=exception_handlers,
            serializer=_serializer(serializer),
            size=pool_size,
            max_jobs_per_child=max_jobs_per_child,
            max_memory_per_child_mb=max_memory_per_child,
        )
    else:
        w = worker_class(settings.worker_class)(
            list(settings.queues),
            connection=connection,
            name=name,
            prefix=settings.prefix,
            lease_s=settings.lease_s,
            shutdown_timeout_s=settings.shutdown_timeout_s,
            max_result_bytes=max_result_bytes,
            exception_handlers=exception_handlers,
            serializer=_serializer(serializer),
        )
    w.work(burst=burst, max_jobs=max_jobs, with_scheduler=with_scheduler)


_FLAG_NAMES = {
    "redis_url": "--url",
    "queues": "QUEUES",
    "worker_class": "--worker-class",
    "shutdown_timeout_s": "--shutdown-timeout",
    "lease_s": "--lease",
    "log_level": "--logging-level",
    "log_format": "--log-format",
}


@main.command()
@click.argument("queues", nargs=-1)
@url_option
@config_option
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Refresh every S seconds until interrupted.",
)
@click.pass_context
def info(
    ctx: click.Context,
    queues: Sequence[str],
    url: str | None,
    config_module: str | None,
    interval: float | None,
) -> None:
    """Show queues with their job counts by state, and workers with their current jobs."""
    _add_to_path()
    settings = load_settings(
        {"redis_url": url}, module=config_module, flag_names={"redis_url": "--url"}
    )
    connection = _connection(ctx, settings=settings)
    if interval is None:
        click.echo(_render_info(connection, queues, settings.prefix))
        return
    try:
        while True:
            text = _render_info(connection, queues, settings.prefix)
            click.clear()
            click.echo(f"{time.strftime('%H:%M:%S')}  every {interval:g} s, Ctrl+C to stop\n")
            click.echo(text)
            time.sleep(interval)
    except KeyboardInterrupt:
        return


INFO_BAR_WIDTH = 30


def _bar_char() -> str:
    try:
        "█".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "#"
    return "█"


def _render_info(connection: redis.Redis, names: Sequence[str], prefix: str | None = None) -> str:
    selected = (
        [Queue(n, connection=connection, prefix=prefix) for n in names]
        if names
        else Queue.all(connection=connection, prefix=prefix)
    )
    rows = [
        (q.name, q.count, [REGISTRY_CLASSES[k](queue=q).count for k in REGISTRY_KINDS])
        for q in selected
    ]
    name_width = max([5, *(len(name) for name, _, _ in rows)])
    biggest = max([1, *(queued for _, queued, _ in rows)])
    char = _bar_char()
    header = f"{'queue':<{name_width}} {'':<{INFO_BAR_WIDTH}} {'queued':>8}" + "".join(
        f" {k:>9}" for k in REGISTRY_KINDS
    )
    lines = [header]
    for name, queued, counts in rows:
        # Any queued job shows at least one block, so a short queue is not mistaken for empty.
        filled = -(-queued * INFO_BAR_WIDTH // biggest)
        lines.append(
            f"{name:<{name_width}} {char * filled:<{INFO_BAR_WIDTH}} {queued:>8}"
            + "".join(f" {c:>9}" for c in counts)
        )
    if not selected:
        lines.append("(no queues)")
    paused = sorted(suspension.paused_queue_names(connection, prefix))
    if paused:
        lines.append(f"paused: {', '.join(paused)}")
    if suspension.is_suspended(connection, prefix):
        lines.append("workers are suspended (minirq resume lifts it)")
    workers = BaseWorker.all(connection=connection, prefix=prefix)
    keys = Keys(prefix)
    with connection.pipeline(transaction=False) as pipe:
        for w in workers:
            pipe.hget(keys.job(w.current_job_id or ""), "func")
        funcs = pipe.execute()
    lines.append("")
    lines.append(f"{len(workers)} worker(s)")
    for w, func in zip(workers, funcs, strict=True):
        job = f" job {w.current_job_id} {decode(func) or ''}".rstrip() if w.current_job_id else ""
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
@click.option(
    "--trusted-host",
    "trusted_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests for this Host name (besides loopback and --host); repeatable. "
    "Also $MINIRQ_DASHBOARD_TRUSTED_HOSTS (comma list).",
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
    trusted_hosts: Sequence[str],
) -> None:
    """Serve the web dashboard (needs the `dashboard` extra: pip install 'minirq[dashboard]')."""
    try:
        from werkzeug.serving import make_server

        from minirq_dashboard.app import config_from_env, create_app
    except ImportError as exc:
        raise click.ClickException(
            f"the dashboard needs Flask ({exc}); install it with: pip install 'minirq[dashboard]'"
        ) from None
    if not password and not no_auth and not _is_loopback(host):
        raise click.UsageError(
            f"refusing to serve the dashboard on {host} without a password: give --password "
            "(or MINIRQ_DASHBOARD_PASSWORD), or --no-auth if something else guards it"
        )
    settings = load_settings({"redis_url": url}, flag_names={"redis_url": "--url"})
    connection = _connection(ctx, settings=settings)
    config = config_from_env()
    config.update(
        MINIRQ_REDIS_CONNECTION=connection,
        MINIRQ_PREFIX=settings.prefix,
        MINIRQ_DASHBOARD_URL_PREFIX=url_prefix,
        MINIRQ_DASHBOARD_USERNAME=username,
        MINIRQ_DASHBOARD_PASSWORD=password or "",
        MINIRQ_DASHBOARD_READ_ONLY=read_only,
        MINIRQ_DASHBOARD_TRUSTED_HOSTS=[
            host, *trusted_hosts, *config.get("MINIRQ_DASHBOARD_TRUSTED_HOSTS", "").split(",")
        ],
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


@main.command()
@url_option
@config_option
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
    default=None,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Default INFO.",
)
@click.option(
    "--log-format",
    default=None,
    type=click.Choice(["text", "json"]),
    help="text (default), or json: one object per line for log drains.",
)
@click.pass_context
def scheduler(
    ctx: click.Context,
    url: str | None,
    config_module: str | None,
    cron_modules: Sequence[str],
    paths: Sequence[str],
    lease: float,
    burst: bool,
    logging_level: str | None,
    log_format: str | None,
) -> None:
    """Run a scheduler: move due jobs to their queues and enqueue cron entries.

    Run as many as you like; one is active at a time.
    """
    _add_to_path(paths)
    settings = load_settings(
        {"redis_url": url, "log_level": logging_level, "log_format": log_format},
        module=config_module,
        flag_names=_FLAG_NAMES,
    )
    setup_logging(settings.log_level, settings.log_format)
    connection = _connection(ctx, settings=settings)
    sched = Scheduler(connection, prefix=settings.prefix, lease_s=lease)
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
