"""Operator control: ``pause``, ``resume``, ``suspend``, ``stop``, ``shutdown``.

Each acts under the configured prefix, so ``MINIRQ_PREFIX=myapp minirq suspend`` suspends
the workers of ``myapp``, not those of the default prefix.
"""

from __future__ import annotations

import click

from .. import suspension
from ..commands import send_shutdown_command, send_stop_job_command
from .context import CliContext, pass_cli
from .options import connection_options


@click.command()
@click.argument("queues", nargs=-1, required=True)
@connection_options
@pass_cli
def pause(
    cli: CliContext, queues: tuple[str, ...], url: str | None, config_module: str | None
) -> None:
    """Make workers skip QUEUES (within about a second) until `minirq resume QUEUES`."""
    cli.load(url, config_module)
    for queue in cli.existing_queues(queues):
        queue.pause()
        click.echo(f"Paused {queue.name}")


@click.command()
@click.argument("queues", nargs=-1)
@connection_options
@pass_cli
def resume(
    cli: CliContext, queues: tuple[str, ...], url: str | None, config_module: str | None
) -> None:
    """Resume QUEUES; without QUEUES, lift `minirq suspend`."""
    cli.load(url, config_module)
    if not queues:
        suspension.resume(cli.connection, cli.prefix)
        click.echo("Workers resumed")
        return
    for queue in cli.existing_queues(queues):
        queue.resume()
        click.echo(f"Resumed {queue.name}")


@click.command()
@click.option(
    "--duration",
    type=click.IntRange(min=1),
    default=None,
    help="Seconds after which the suspension ends by itself.",
)
@connection_options
@pass_cli
def suspend(
    cli: CliContext, duration: int | None, url: str | None, config_module: str | None
) -> None:
    """Make every worker stop fetching jobs (running jobs finish) until `minirq resume`."""
    cli.load(url, config_module)
    suspension.suspend(cli.connection, duration, cli.prefix)
    until = f" for {duration} s" if duration else " until `minirq resume`"
    click.echo(f"Workers suspended{until}")


@click.command()
@click.argument("job_ids", nargs=-1, required=True)
@connection_options
@pass_cli
def stop(
    cli: CliContext, job_ids: tuple[str, ...], url: str | None, config_module: str | None
) -> None:
    """Stop running jobs on whichever worker runs them (they end `stopped`)."""
    cli.load(url, config_module)
    for job_id in job_ids:
        send_stop_job_command(cli.connection, job_id, prefix=cli.prefix)
        click.echo(f"Stop sent to job {job_id}")


@click.command()
@click.argument("worker_names", nargs=-1, required=True)
@connection_options
@pass_cli
def shutdown(
    cli: CliContext, worker_names: tuple[str, ...], url: str | None, config_module: str | None
) -> None:
    """Ask workers to stop after their current job, as on SIGTERM."""
    cli.load(url, config_module)
    missing = [n for n in worker_names if not send_shutdown_command(cli.connection, n, cli.prefix)]
    for name in worker_names:
        if name not in missing:
            click.echo(f"Shutdown sent to {name}")
    if missing:
        raise click.ClickException(f"no listening worker named {', '.join(missing)}")


__all__ = ["pause", "resume", "shutdown", "stop", "suspend"]
