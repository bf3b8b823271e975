"""``minirq cron list | add | remove``: cron entries stored in Redis, run by the scheduler."""

from __future__ import annotations

import json
from typing import Any

import click

from ..scheduler import Scheduler
from ..utils import parse_duration
from .context import CliContext, pass_cli
from .options import connection_options, kwarg_option, parse_call_arguments


def _scheduler(cli: CliContext, url: str | None, config_module: str | None) -> Scheduler:
    cli.load(url, config_module)
    return Scheduler(cli.connection, prefix=cli.prefix)


@click.group()
def cron() -> None:
    """List, add and remove cron entries (stored in Redis, run by the scheduler)."""


@cron.command("list")
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_cli
def cron_list(cli: CliContext, url: str | None, config_module: str | None, as_json: bool) -> None:
    """Show every cron entry, soonest next run first."""
    entries = _scheduler(cli, url, config_module).entries()
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
@kwarg_option
@connection_options
@pass_cli
def cron_add(
    cli: CliContext,
    func: str,
    args: tuple[str, ...],
    cron_string: str | None,
    every: str | None,
    name: str | None,
    queue_name: str,
    timezone: str,
    misfire: str,
    kwargs: tuple[str, ...],
    url: str | None,
    config_module: str | None,
) -> None:
    """Add or update an entry running FUNC (a dotted path) with JSON ARGS."""
    if (cron_string is None) == (every is None):
        raise click.UsageError("give either --cron or --every")
    values, named = parse_call_arguments(args, kwargs)
    sched = _scheduler(cli, url, config_module)
    common: dict[str, Any] = {
        "args": values,
        "kwargs": named,
        "queue_name": queue_name,
        "name": name,
    }
    if cron_string is not None:
        entry = sched.cron(cron_string, func, timezone=timezone, misfire=misfire, **common)
    else:
        assert every is not None
        interval_s = parse_duration(every, "--every", allow_zero=False)
        entry = sched.every(interval_s, func, misfire=misfire, **common)
    next_run = entry.next_run.isoformat() if entry.next_run else "-"
    click.echo(f"{entry.name}: next run {next_run}")


@cron.command("remove")
@click.argument("name")
@connection_options
@pass_cli
def cron_remove(cli: CliContext, name: str, url: str | None, config_module: str | None) -> None:
    """Delete the entry NAME."""
    if not _scheduler(cli, url, config_module).remove(name):
        raise click.ClickException(f"no cron entry named {name!r}")
    click.echo(f"Removed {name}")


__all__ = ["cron"]
