"""``minirq import-rq``: bring an RQ backlog over (see :mod:`minirq.rq_import`)."""

from __future__ import annotations

import click

from ..connection import connect
from ..redact import redact_url
from ..rq_import import ImportReport, import_rq
from .context import CliContext, pass_cli
from .options import connection_options, resolve_serializer, serializer_option


def _queue_names(values: tuple[str, ...]) -> list[str] | None:
    names = [name.strip() for value in values for name in value.split(",")]
    if any(not name for name in names):
        raise click.BadParameter("a queue name is empty", param_hint="--queues")
    return names or None


@click.command("import-rq")
@click.option(
    "--from",
    "source_url",
    required=True,
    metavar="URL",
    help="RQ's Redis, e.g. redis://old-host:6379/0 (may be the same as minirq's).",
)
@click.option(
    "--queues",
    "-q",
    "queues",
    multiple=True,
    metavar="A,B",
    help="RQ queues to bring over (comma-separated or repeated; default: every queue).",
)
@click.option("--dry-run", is_flag=True, help="Report what would move; write nothing.")
@click.option("--prefix", default=None, help="minirq's key prefix (default: $MINIRQ_PREFIX).")
@serializer_option
@connection_options
@pass_cli
def import_rq_command(
    cli: CliContext,
    source_url: str,
    queues: tuple[str, ...],
    dry_run: bool,
    prefix: str | None,
    serializer: str | None,
    url: str | None,
    config_module: str | None,
) -> None:
    """Move RQ's queued, scheduled, deferred and failed jobs into minirq.

    Each job moves in one atomic step and leaves RQ once minirq holds it; a job that
    cannot be carried over is listed with its reason and stays in RQ. Running it again
    is safe, also after a crash midway. Stop RQ's workers and scheduler first.
    """
    names = _queue_names(queues)
    cli.load(url, config_module, {"prefix": prefix} if prefix is not None else None)
    target = cli.connection
    source = connect(source_url)
    try:
        source.ping()
        report = import_rq(
            source,
            target,
            prefix=cli.prefix,
            queues=names,
            serializer=resolve_serializer(serializer),
            dry_run=dry_run,
        )
    finally:
        source.close()
    click.echo(
        f"from RQ at {redact_url(source_url)} to {cli.shown_url} under prefix {cli.prefix!r}"
        + (" (same Redis database)" if report.same_redis else "")
    )
    for line in report_lines(report):
        click.echo(line)


def report_lines(report: ImportReport) -> list[str]:
    """The report as ``minirq import-rq`` prints it."""
    verb = "would move" if report.dry_run else "moved"
    lines = [f"{verb} {report.moved_total} job(s)"]
    for (queue, status), count in sorted(report.moved.items()):
        lines.append(f"  {queue}: {count} {status}")
    for (queue, state), count in sorted(report.already.items()):
        lines.append(f"  {queue}: {count} {state} imported by an earlier run, now removed from RQ")
    if report.refused:
        lines.append(f"not moved, left in RQ: {len(report.refused)} job(s)")
        for refusal in report.refused:
            place = refusal.place
            lines.append(f"  {place.queue} {place.state} {refusal.job_id}: {refusal.reason}")
    if report.left_alone:
        lines.append(
            "left alone in RQ (only queued, scheduled, deferred and failed jobs move):"
        )
        for (queue, label), count in sorted(report.left_alone.items()):
            lines.append(f"  {queue}: {count} {label}")
    return lines


__all__ = ["import_rq_command", "report_lines"]
