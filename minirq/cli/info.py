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
    "--interval",
    type=click.FloatRange(min=0.1),
    default=None,
    help="Refresh every S seconds until interrupted.",
)
@pass_cli
def info(
    cli: CliContext,
    queues: tuple[str, ...],
    url: str | None,
    config_module: str | None,
    interval: float | None,
) -> None:
    """Show queues with their job counts by state, and workers with their current jobs."""
    cli.load(url, config_module)
    if queues:
        cli.existing_queues(queues)
    if interval is None:
        click.echo(render_info(cli, queues))
        return
    try:
        while True:
            text = render_info(cli, queues)
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


def render_info(cli: CliContext, names: tuple[str, ...]) -> str:
    """The text of one ``minirq info`` screen (the Redis URL shown without its password)."""
    connection, prefix = cli.connection, cli.prefix
    selected = (
        [cli.queue(n) for n in names] if names else Queue.all(connection=connection, prefix=prefix)
    )
    lines = [f"Redis {cli.shown_url}, prefix {prefix}", *_queue_lines(selected)]
    paused = sorted(suspension.paused_queue_names(connection, prefix))
    if paused:
        lines.append(f"paused: {', '.join(paused)}")
    if suspension.is_suspended(connection, prefix):
        lines.append("workers are suspended (minirq resume lifts it)")
    lines.extend(_scheduler_lines(connection, cli.keys, selected))
    lines.append("")
    lines.extend(_worker_lines(connection, cli.keys))
    return "\n".join(lines)


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
            "no scheduler is active: start one with `minirq scheduler` or "
            "`minirq worker --with-scheduler`"
        )
    return lines


def _queue_lines(selected: list[Queue]) -> list[str]:
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
    return lines


def _worker_lines(connection: redis.Redis, keys: Keys) -> list[str]:
    workers = BaseWorker.all(connection=connection, prefix=keys.prefix)
    lines = [f"{len(workers)} worker(s)"]
    for w in workers:
        job = ""
        if w.current_job_id:
            func = text_or_none(store.jobs.load_field(connection, keys, w.current_job_id, "func"))
            job = f" job {w.current_job_id} {func or ''}".rstrip()
        lines.append(
            f"  {w.name} {w.state} on {','.join(w.queue_names)}{job} "
            f"({w.successful_job_count} ok, {w.failed_job_count} failed)"
        )
    return lines


__all__ = ["info", "render_info"]
