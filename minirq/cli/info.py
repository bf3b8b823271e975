"""``minirq info``: queues with their job counts by state, and workers with their jobs."""

from __future__ import annotations

import sys
import time

import click
import redis

from .. import store, suspension
from ..keys import REGISTRY_KINDS, Keys
from ..queue import Queue
from ..registry import REGISTRY_CLASSES
from ..stats import scheduler_status
from ..store.record import text_or_none
from ..worker import BaseWorker
from .context import CliContext, pass_cli
from .options import connection_options

INFO_BAR_WIDTH = 30
# Scheduled jobs this late with no active scheduler earn a warning: later than a pass of a
# running scheduler could explain.
OVERDUE_WARNING_MS = 5000


@click.command()
@click.argument("queues", nargs=-1)
@connection_options
@click.option(
    "-i",
    "--interval",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Refresh every S seconds until interrupted.",
)
@click.option("-r", "--raw", is_flag=True, help="Numbers only, no bar chart.")
@click.option("-Q", "--only-queues", is_flag=True, help="Show queues only.")
@click.option("-W", "--only-workers", is_flag=True, help="Show workers only.")
@click.option("-R", "--by-queue", is_flag=True, help="Show the workers of each queue.")
@pass_cli
def info(
    cli: CliContext,
    /,
    queues: tuple[str, ...],
    url: str | None,
    config_module: str | None,
    interval: float | None,
    **view: bool,
) -> None:
    """Show queues with their job counts by state, and workers with their current jobs."""
    if view["only_queues"] and view["only_workers"]:
        raise click.UsageError("--only-queues and --only-workers contradict each other")
    cli.load(url, config_module)
    if queues:
        cli.existing_queues(queues)
    if interval is None:
        click.echo(render_info(cli, queues, **view))
        return
    try:
        while True:
            text = render_info(cli, queues, **view)
            click.clear()
            click.echo(f"{time.strftime('%H:%M:%S')}  every {interval:g} s, Ctrl+C to stop\n")
            click.echo(text)
            time.sleep(interval)
    except KeyboardInterrupt:
        return


def _bar_char() -> str:
    try:
        "█".encode(sys.stdout.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        return "#"
    return "█"


def render_info(
    cli: CliContext,
    names: tuple[str, ...],
    raw: bool = False,
    only_queues: bool = False,
    only_workers: bool = False,
    by_queue: bool = False,
) -> str:
    """The text of one ``minirq info`` screen (the Redis URL shown without its password):
    queues (without bars when ``raw``) and workers, or only one of them; ``by_queue``
    lists the workers of each queue."""
    connection, prefix = cli.connection, cli.prefix
    selected = (
        [cli.queue(n) for n in names] if names else Queue.all(connection=connection, prefix=prefix)
    )
    lines = [f"Redis {cli.shown_url}, prefix {prefix}"]
    if not only_workers:
        lines.extend(_queue_lines(selected, raw))
        paused = sorted(suspension.paused_queue_names(connection, prefix))
        if paused:
            lines.append(f"paused: {', '.join(paused)}")
        if suspension.is_suspended(connection, prefix):
            lines.append("workers are suspended (minirq resume lifts it)")
        lines.extend(_scheduler_lines(connection, cli.keys, selected))
    if not only_queues:
        lines.append("")
        if by_queue:
            lines.extend(_workers_by_queue(connection, cli.keys, selected))
        else:
            lines.extend(_worker_lines(connection, cli.keys))
    return "\n".join(lines)


def _workers_by_queue(connection: redis.Redis, keys: Keys, selected: list[Queue]) -> list[str]:
    workers = BaseWorker.all(connection=connection, prefix=keys.prefix)
    width = max([5, *(len(q.name) for q in selected)])
    lines = []
    for q in selected:
        here = [w for w in workers if w.listens_on_all or q.name in w.queue_names]
        shown = ", ".join(sorted(f"{w.name} ({w.state})" for w in here)) or "-"
        lines.append(f"{q.name + ':':<{width + 1}} {shown}")
    return lines


def _scheduler_lines(connection: redis.Redis, keys: Keys, selected: list[Queue]) -> list[str]:
    """The active scheduler and its last pass; a warning for jobs it should have moved."""
    seconds, micros = connection.time()
    # Redis's clock, the one due times are compared with, not this host's.
    now = int(seconds) * 1000 + int(micros) // 1000
    status = scheduler_status(connection, keys)
    last = (
        f", last pass {max(0, now - status.last_pass_ms) / 1000:.1f} s ago"
        if status.last_pass_ms
        else ""
    )
    lines = [f"scheduler: {status.holder} active{last}" if status.holder else "scheduler: none"]
    with connection.pipeline(transaction=False) as pipe:
        for q in selected:
            key = q.scheduled_job_registry.key
            pipe.zcount(key, "-inf", now - OVERDUE_WARNING_MS)
            pipe.zrange(key, 0, 0, withscores=True)
        replies = pipe.execute(raise_on_error=False)
    overdue = sum(n for n in replies[0::2] if isinstance(n, int))
    firsts = [float(first[0][1]) for first in replies[1::2] if isinstance(first, list) and first]
    if overdue and status.holder is None:
        late_s = (now - min(firsts)) / 1000
        lines.append(
            f"warning: {overdue} scheduled job(s) overdue (the oldest by {late_s:.0f} s) and "
            "no scheduler is active: every `minirq worker` runs one unless started with "
            "--no-scheduler, or start one with `minirq scheduler`"
        )
    return lines


def _queue_lines(selected: list[Queue], raw: bool = False) -> list[str]:
    rows = [
        (q.name, q.count, [REGISTRY_CLASSES[k](queue=q).count for k in REGISTRY_KINDS])
        for q in selected
    ]
    name_width = max([5, *(len(name) for name, _, _ in rows)])
    biggest = max([1, *(queued for _, queued, _ in rows)])
    char = _bar_char()
    bar_width = 0 if raw else INFO_BAR_WIDTH
    header = f"{'queue':<{name_width}} {'':<{bar_width}} {'queued':>8}" + "".join(
        f" {k:>9}" for k in REGISTRY_KINDS
    )
    lines = [header]
    for name, queued, counts in rows:
        # Any queued job shows at least one block, so a short queue is not mistaken for empty.
        filled = -(-queued * bar_width // biggest)
        lines.append(
            f"{name:<{name_width}} {char * filled:<{bar_width}} {queued:>8}"
            + "".join(f" {c:>9}" for c in counts)
        )
    if not selected:
        lines.append("(no queues)")
    return lines


def _worker_lines(connection: redis.Redis, keys: Keys) -> list[str]:
    workers = BaseWorker.all(connection=connection, prefix=keys.prefix)
    lines = [f"{len(workers)} worker(s)"]
    for w in workers:
        job = ""
        if w.current_job_id:
            func = text_or_none(store.jobs.load_field(connection, keys, w.current_job_id, "func"))
            job = f" job {w.current_job_id} {func or ''}".rstrip()
        listening = "every queue" if w.listens_on_all else ",".join(w.queue_names)
        lines.append(
            f"  {w.name} {w.state} on {listening}{job} "
            f"({w.successful_job_count} ok, {w.failed_job_count} failed)"
        )
    return lines


__all__ = ["info", "render_info"]
