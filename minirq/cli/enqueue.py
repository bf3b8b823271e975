"""``minirq enqueue`` in two forms.

- minirq's: ``minirq enqueue QUEUE FUNC [JSON_ARGS...] [-k NAME=JSON]``.
- RQ's: ``minirq enqueue [--queue Q] FUNC [ARGS...]`` with RQ's argument language:
  ``text`` (a string), ``:json``, ``%literal`` (a Python literal, read with
  :func:`ast.literal_eval`, which evaluates no code), ``name=text``, ``name:=json``,
  ``name%=literal``, and ``@path`` after any of them to read the value from a file.

The RQ form is used when ``--queue`` is given, or when the first argument names an
importable callable; otherwise, when the second argument is a dotted name, minirq's.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..callables import call_string
from ..exceptions import ConfigurationError
from ..import_hint import import_function
from ..job import Job
from ..retry import Retry
from ..utils import now_ms, parse_duration
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

_DOTTED = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)+$")


def _read_file(text: str) -> str:
    if not text.startswith("@"):
        return text
    try:
        return Path(text[1:]).read_text()
    except OSError as exc:
        raise click.BadParameter(f"cannot read {text[1:]!r}: {exc.strerror}") from None


def _decode(mode: str, text: str, what: str) -> Any:
    text = _read_file(text)
    if mode == ":":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"{what} {text!r} is not JSON ({exc.msg})") from None
    if mode == "%":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            raise click.BadParameter(
                f"{what} {text!r} is not a Python literal (numbers, strings, lists, dicts, "
                "tuples, sets, True, False, None; nothing else is evaluated)"
            ) from None
    return text


def parse_rq_arguments(arguments: tuple[str, ...]) -> tuple[list[Any], dict[str, Any]]:
    """RQ's argument language (see the module docstring) as args and kwargs."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for argument in arguments:
        if argument[:1] in (":", "%"):
            args.append(_decode(argument[0], argument[1:], f"argument {len(args) + 1}"))
            continue
        name, sep, value = argument.partition("=")
        if not sep or not name:
            args.append(_decode("", argument, f"argument {len(args) + 1}"))
            continue
        mode = name[-1] if name[-1] in (":", "%") else ""
        name = name[:-1] if mode else name
        if not name.isidentifier():
            raise click.BadParameter(f"{name!r} in {argument!r} is not a keyword argument name")
        if name in kwargs:
            raise click.BadParameter(f"keyword argument {name!r} is given twice")
        kwargs[name] = _decode(mode, value, f"keyword argument {name!r}")
    return args, kwargs


def _importable_callable(dotted: str) -> bool:
    if not _DOTTED.match(dotted):
        return False
    try:
        return callable(import_function(dotted))
    except Exception:
        return False


def choose_form(
    positionals: tuple[str, ...], queue_flag: str | None, import_check: bool
) -> tuple[str, str, tuple[str, ...], bool]:
    """(queue, function, arguments, rq_form) for the positional arguments."""
    if not positionals:
        raise click.UsageError("give the function to enqueue")
    if queue_flag is not None:
        return queue_flag, positionals[0], positionals[1:], True
    minirq_form = len(positionals) >= 2 and bool(_DOTTED.match(positionals[1]))
    if minirq_form and (not import_check or not _importable_callable(positionals[0])):
        return positionals[0], positionals[1], positionals[2:], False
    return "default", positionals[0], positionals[1:], True


def check_importable(func: str) -> None:
    try:
        function = import_function(func)
    except (ImportError, AttributeError) as exc:
        raise ConfigurationError(f"{exc} (or pass --no-import-check)") from None
    if not callable(function):
        raise ConfigurationError(f"{func} is a {type(function).__name__}, not a function")


def _due_ms(schedule_in: str | None, schedule_at: str | None) -> int | None:
    if schedule_in is not None and schedule_at is not None:
        raise click.UsageError("--schedule-in and --schedule-at contradict each other")
    if schedule_in is not None:
        return now_ms() + parse_duration(schedule_in, "--schedule-in") * 1000
    if schedule_at is None:
        return None
    try:
        # Naive: local time, as RQ reads it (and as Queue.enqueue_at does).
        when = datetime.strptime(schedule_at, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise click.BadParameter(
            f"{schedule_at!r} is not YYYY-MM-DDTHH:MM:SS", param_hint="--schedule-at"
        ) from None
    return int(when.timestamp() * 1000)


@click.command(context_settings={"ignore_unknown_options": True})
@click.argument("positionals", nargs=-1, type=click.UNPROCESSED)
@click.option("-q", "--queue", "queue_flag", default=None, help="Queue (RQ's form; default).")
@kwarg_option
@click.option("--job-id", default=None)
@click.option("--timeout", default=None, help="Job timeout: seconds or text like 5m.")
@click.option("--result-ttl", default=None, help="Seconds a finished job is kept.")
@click.option("--ttl", default=None, help="Seconds a queued job may wait to start.")
@click.option("--failure-ttl", default=None, help="Seconds a failed job is kept.")
@click.option("--description", default=None)
@click.option("--depends-on", multiple=True, help="A job id to wait for (repeatable).")
@click.option("--at-front", is_flag=True, help="Put the job at the front of the queue.")
@click.option("--retry-max", type=click.IntRange(min=0), default=0, help="Retries on failure.")
@click.option("--retry-interval", multiple=True, type=click.IntRange(min=0), default=[0])
@click.option("--schedule-in", default=None, help="Run after a delay such as 10s, 5m, 2d.")
@click.option("--schedule-at", default=None, help="Run at local YYYY-MM-DDTHH:MM:SS.")
@click.option("--quiet", is_flag=True, help="Print nothing (RQ's form).")
@path_option
@click.option(
    "--no-import-check",
    is_flag=True,
    help="Enqueue FUNC without importing it here (its code lives only where workers run).",
)
@serializer_option
@connection_options
@pass_cli
def enqueue(cli: CliContext, /, positionals: tuple[str, ...], **o: Any) -> None:
    """Enqueue a function: `QUEUE FUNC [JSON_ARGS...]`, or RQ's `[--queue Q] FUNC [ARGS...]`.

    FUNC is imported first (from the current folder and --path), so that a typo fails
    here rather than in the worker. RQ's ARGS: text, :json, %literal, name=text,
    name:=json, name%=literal, and @file for any value.
    """
    add_to_path(o["paths"])
    flags = [p for p in positionals if p.startswith("-") and not p[1:2].isdigit()]
    if flags:
        raise click.UsageError(f"no such option: {flags[0]}")
    queue_name, func, arguments, rq_form = choose_form(
        positionals, o["queue_flag"], not o["no_import_check"]
    )
    if rq_form:
        args, kwargs = parse_rq_arguments(arguments)
        if o["kwargs"]:
            kwargs.update(parse_call_arguments((), o["kwargs"])[1])
    else:
        args, kwargs = parse_call_arguments(arguments, o["kwargs"])
    if not o["no_import_check"]:
        check_importable(func)
    due_ms = _due_ms(o["schedule_in"], o["schedule_at"])
    retry = Retry(o["retry_max"], list(o["retry_interval"])) if o["retry_max"] else None
    cli.load(o["url"], o["config_module"])
    queue = cli.queue(queue_name, serializer=resolve_serializer(o["serializer"]))
    options: dict[str, Any] = {
        "timeout": o["timeout"],
        "result_ttl": o["result_ttl"],
        "ttl": o["ttl"],
        "failure_ttl": o["failure_ttl"],
        "description": o["description"],
        "job_id": o["job_id"],
        "at_front": o["at_front"],
        "retry": retry,
        "depends_on": list(o["depends_on"]) or None,
    }
    job: Job
    if due_ms is None:
        job = queue.enqueue_call(func, args=args, kwargs=kwargs, **options)
    else:
        data = queue.prepare_data(func, args, kwargs, **options)
        job = queue.create_job(func, args, kwargs, data.options)
        delay = max(0, due_ms - now_ms())
        job = queue.schedule_job(job, None, o["at_front"], delay_ms=delay)
    if not rq_form:
        click.echo(job.id)
    elif not o["quiet"]:
        click.echo(f"Enqueued {call_string(func, args, kwargs)} with job-id '{job.id}'.")


__all__ = ["choose_form", "enqueue", "parse_rq_arguments"]
