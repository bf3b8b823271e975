"""Jobs and queues: ``minirq requeue`` and ``empty`` (``enqueue`` is :mod:`.enqueue`)."""

from __future__ import annotations

import click

from ..exceptions import ConfigurationError, InvalidJobOperation, NoSuchJobError
from ..job import Job
from ..queue import Queue
from ..serializers import Serializer
from .context import CliContext, pass_cli
from .options import connection_options, resolve_serializer, serializer_option


@click.command()
@click.option(
    "--queue",
    "-q",
    "queue_name",
    default=None,
    help="Queue whose failed jobs to requeue (needed with --all; job ids know their queue).",
)
@click.option(
    "-a", "--all", "all_jobs", is_flag=True, help="Requeue every failed job of the queue."
)
@click.argument("job_ids", nargs=-1)
@serializer_option
@connection_options
@pass_cli
def requeue(
    cli: CliContext,
    queue_name: str | None,
    all_jobs: bool,
    job_ids: tuple[str, ...],
    serializer: str | None,
    url: str | None,
    config_module: str | None,
) -> None:
    """Put failed jobs back on their queue."""
    if not all_jobs and not job_ids:
        raise click.UsageError("give job ids, or --all")
    if all_jobs and queue_name is None:
        raise click.UsageError("--all needs --queue NAME")
    cli.load(url, config_module)
    queue = cli.existing_queues([queue_name])[0] if queue_name is not None else None
    if all_jobs:
        assert queue is not None
        count = queue.failed_job_registry.requeue_all()
        click.echo(f"Requeued {count} job(s) on {queue.name}")
        return
    resolved = resolve_serializer(serializer)
    jobs = _failed_jobs(cli, job_ids, queue.name if queue is not None else None, resolved)
    for job in jobs:
        cli.queue(job.origin, resolved).failed_job_registry.requeue(job.id)
        click.echo(f"Requeued {job.id} on {job.origin}")
    click.echo(f"Requeued {len(jobs)} job(s)")


def _failed_jobs(
    cli: CliContext,
    job_ids: tuple[str, ...],
    queue_name: str | None,
    serializer: Serializer | str | None,
) -> list[Job]:
    """The jobs ``job_ids`` (stored with ``serializer``), each checked to be failed (on
    ``queue_name`` if given), so that a bad id refuses the whole command before any job
    moves."""
    jobs = []
    for job_id in job_ids:
        try:
            job = Job.fetch(
                job_id, connection=cli.connection, serializer=serializer, prefix=cli.prefix
            )
        except NoSuchJobError:
            raise NoSuchJobError(f"no job with id {job_id!r} under prefix {cli.prefix!r}") from None
        if queue_name is not None and job.origin != queue_name:
            raise ConfigurationError(
                f"job {job_id} belongs to queue {job.origin!r}, not {queue_name!r}"
            )
        if job.id not in cli.queue(job.origin).failed_job_registry:
            raise InvalidJobOperation(
                f"job {job_id} is {job.get_status()}, not failed: only failed jobs are requeued"
            )
        jobs.append(job)
    return jobs


@click.command()
@click.option("-a", "--all", "all_queues", is_flag=True, help="Empty every queue.")
@click.argument("queues", nargs=-1)
@connection_options
@pass_cli
def empty(
    cli: CliContext,
    all_queues: bool,
    queues: tuple[str, ...],
    url: str | None,
    config_module: str | None,
) -> None:
    """Delete every queued job of QUEUES (or of every queue, with --all)."""
    if all_queues and queues:
        raise click.UsageError("give queue names or --all, not both")
    if not all_queues and not queues:
        # As RQ: nothing named, nothing done (not an error in a script).
        click.echo("Nothing to do")
        return
    cli.load(url, config_module)
    if all_queues:
        selected = Queue.all(connection=cli.connection, prefix=cli.prefix)
    else:
        selected = cli.existing_queues(queues)
    if not selected:
        click.echo("Nothing to do: no queues")
    for queue in selected:
        count = queue.empty()
        click.echo(f"Emptied {queue.name}: {count} job(s) deleted")


__all__ = ["empty", "requeue"]
