"""Jobs and queues: ``minirq enqueue``, ``requeue`` and ``empty``."""

from __future__ import annotations

import click

from ..exceptions import ConfigurationError, InvalidJobOperation, NoSuchJobError
from ..import_hint import import_function
from ..job import Job
from .context import CliContext, pass_cli
from .options import (
    add_to_path,
    connection_options,
    kwarg_option,
    parse_call_arguments,
    path_option,
    resolve_serializer,
    serializer_option,
)


@click.command()
@click.argument("queue_name")
@click.argument("func")
@click.argument("args", nargs=-1)
@kwarg_option
@click.option("--job-id", default=None)
@click.option("--timeout", default=None, help="Job timeout: seconds or text like 5m.")
@path_option
@click.option(
    "--no-import-check",
    is_flag=True,
    help="Enqueue FUNC without importing it here (its code lives only where workers run).",
)
@serializer_option
@connection_options
@pass_cli
def enqueue(
    cli: CliContext,
    queue_name: str,
    func: str,
    args: tuple[str, ...],
    kwargs: tuple[str, ...],
    job_id: str | None,
    timeout: str | None,
    paths: tuple[str, ...],
    no_import_check: bool,
    serializer: str | None,
    url: str | None,
    config_module: str | None,
) -> None:
    """Enqueue FUNC (a dotted path) on QUEUE_NAME with JSON ARGS.

    FUNC is imported first (from the current folder and --path), so that a typo fails
    here rather than in the worker.
    """
    values, named = parse_call_arguments(args, kwargs)
    if not no_import_check:
        add_to_path(paths)
        try:
            function = import_function(func)
        except (ImportError, AttributeError) as exc:
            raise ConfigurationError(f"{exc} (or pass --no-import-check)") from None
        if not callable(function):
            raise ConfigurationError(f"{func} is a {type(function).__name__}, not a function")
    cli.load(url, config_module)
    queue = cli.queue(queue_name, serializer=resolve_serializer(serializer))
    job: Job = queue.enqueue_call(func, args=values, kwargs=named, job_id=job_id, timeout=timeout)
    click.echo(job.id)


@click.command()
@click.option(
    "--queue",
    "-q",
    "queue_name",
    default=None,
    help="Queue whose failed jobs to requeue (needed with --all; job ids know their queue).",
)
@click.option("--all", "all_jobs", is_flag=True, help="Requeue every failed job of the queue.")
@click.argument("job_ids", nargs=-1)
@connection_options
@pass_cli
def requeue(
    cli: CliContext,
    queue_name: str | None,
    all_jobs: bool,
    job_ids: tuple[str, ...],
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
    jobs = _failed_jobs(cli, job_ids, queue.name if queue is not None else None)
    for job in jobs:
        cli.queue(job.origin).failed_job_registry.requeue(job.id)
        click.echo(f"Requeued {job.id} on {job.origin}")
    click.echo(f"Requeued {len(jobs)} job(s)")


def _failed_jobs(cli: CliContext, job_ids: tuple[str, ...], queue_name: str | None) -> list[Job]:
    """The jobs ``job_ids``, each checked to be failed (on ``queue_name`` if given), so
    that a bad id refuses the whole command before any job moves."""
    jobs = []
    for job_id in job_ids:
        try:
            job = Job.fetch(job_id, connection=cli.connection, prefix=cli.prefix)
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
@click.argument("queues", nargs=-1, required=True)
@connection_options
@pass_cli
def empty(
    cli: CliContext, queues: tuple[str, ...], url: str | None, config_module: str | None
) -> None:
    """Delete every queued job of QUEUES."""
    cli.load(url, config_module)
    for queue in cli.existing_queues(queues):
        count = queue.empty()
        click.echo(f"Emptied {queue.name}: {count} job(s) deleted")


__all__ = ["empty", "enqueue", "requeue"]
