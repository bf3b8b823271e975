"""The ``minirq`` command line: one module per command group, one context for all.

- :mod:`.workers`: ``worker``, ``worker-pool``, ``scheduler`` (flags in :mod:`.worker_flags`)
- :mod:`.jobs`: ``requeue``, ``empty``; :mod:`.enqueue`: ``enqueue`` (minirq's and RQ's forms)
- :mod:`.cron`: ``cron list | add | remove``
- :mod:`.control`: ``pause``, ``resume``, ``suspend``, ``stop``, ``shutdown``
- :mod:`.info`: ``info``
- :mod:`.dashboard`: ``dashboard``
- :mod:`.rq_import`: ``import-rq``

Every command reads its settings, connection and keys (with the configured prefix)
through :class:`.context.CliContext`, and :class:`.context.MinirqGroup` turns the errors a
user can cause into one line with passwords masked and exit status 1.
"""

from __future__ import annotations

import click

from .context import CliContext, MinirqGroup
from .control import pause, resume, shutdown, stop, suspend
from .cron import cron
from .dashboard import dashboard
from .enqueue import enqueue
from .info import info
from .jobs import empty, requeue
from .rq_import import import_rq_command
from .workers import scheduler, worker, worker_pool


@click.group(cls=MinirqGroup)
@click.version_option(package_name="minirq")
@click.pass_context
def main(ctx: click.Context) -> None:
    """minirq: background jobs on Redis."""
    ctx.obj = CliContext(_click=ctx)


for command in (
    worker,
    worker_pool,
    scheduler,
    info,
    requeue,
    empty,
    enqueue,
    dashboard,
    cron,
    pause,
    resume,
    suspend,
    stop,
    shutdown,
    import_rq_command,
):
    main.add_command(command)

__all__ = ["main"]
