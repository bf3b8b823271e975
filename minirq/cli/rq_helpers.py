"""RQ's command-line helpers under RQ's names (``rq.cli.helpers``): its argument language
for ``enqueue``, ``--schedule-in``/``--schedule-at``, reading a settings module, and
``CliConfig``, the classes and connection a command line names.

The argument language: ``text`` (a string), ``:json``, ``%literal`` (a Python literal read
with :func:`ast.literal_eval`, which evaluates no code), ``name=text``, ``name:=json``,
``name%=literal``, and ``@path`` after any of them to read the value from a file.
"""

from __future__ import annotations

import ast
import importlib
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import redis

from ..config import load_settings
from ..job import Job
from ..process import UnixSignalDeathPenalty
from ..queue import Queue
from ..utils import import_attribute, parse_duration
from ..worker import BaseWorker, worker_class


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


def parse_function_arg(argument: str, arg_pos: int) -> tuple[str | None, Any]:
    """One argument of RQ's language: ``(keyword or None, value)``."""
    if argument[:1] in (":", "%"):
        return None, _decode(argument[0], argument[1:], f"argument {arg_pos}")
    name, sep, value = argument.partition("=")
    if not sep or not name:
        return None, _decode("", argument, f"argument {arg_pos}")
    mode = name[-1] if name[-1] in (":", "%") else ""
    name = name[:-1] if mode else name
    if not name.isidentifier():
        raise click.BadParameter(f"{name!r} in {argument!r} is not a keyword argument name")
    return name, _decode(mode, value, f"keyword argument {name!r}")


def parse_function_args(arguments: Sequence[str]) -> tuple[list[Any], dict[str, Any]]:
    """RQ's argument language as args and kwargs; a keyword given twice is refused."""
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for argument in arguments:
        name, value = parse_function_arg(argument, len(args) + 1)
        if name is None:
            args.append(value)
        elif name in kwargs:
            raise click.BadParameter(f"keyword argument {name!r} is given twice")
        else:
            kwargs[name] = value
    return args, kwargs


def parse_schedule(schedule_in: str | None, schedule_at: str | None) -> datetime | None:
    """When ``--schedule-in`` (``10s``, ``5m``, ``2d``: from now, aware) or
    ``--schedule-at`` (``YYYY-MM-DDTHH:MM:SS``, naive: local time) says to run."""
    if schedule_in is not None and schedule_at is not None:
        raise click.BadArgumentUsage("--schedule-in and --schedule-at contradict each other")
    if schedule_in is not None:
        return datetime.now(UTC) + timedelta(seconds=parse_duration(schedule_in, "--schedule-in"))
    if schedule_at is None:
        return None
    try:
        return datetime.strptime(schedule_at, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise click.BadParameter(
            f"{schedule_at!r} is not YYYY-MM-DDTHH:MM:SS", param_hint="--schedule-at"
        ) from None


def read_config_file(module: str) -> dict[str, Any]:
    """The upper-case names of a settings module, as a dict."""
    settings = importlib.import_module(module)
    return {k: v for k, v in vars(settings).items() if k.upper() == k}


class UnimportableClassError(click.BadParameter, ValueError):
    """A dotted class path that does not import: a usage error on the command line, and a
    ``ValueError`` to code that builds a :class:`CliConfig` itself (as RQ's raises)."""


def _imported(value: str | type[Any], what: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return import_attribute(value)
    except (ImportError, AttributeError) as exc:
        raise UnimportableClassError(str(exc), param_hint=what) from None


class CliConfig:
    """The classes and the connection a command line names (RQ's helper): ``url`` or the
    settings module ``config`` (else the environment) for the connection, and the worker,
    job, queue and death-penalty classes by dotted path."""

    def __init__(
        self,
        url: str | None = None,
        config: str | None = None,
        worker_class: str | type[BaseWorker] = "fork",
        job_class: str | type[Job] = Job,
        death_penalty_class: str | type[Any] = UnixSignalDeathPenalty,
        queue_class: str | type[Queue] = Queue,
        connection_class: str | type[redis.Redis] = redis.Redis,
        path: Sequence[str] | None = None,
        **_options: Any,
    ) -> None:
        self.url = url
        self.config = config
        self._connection: redis.Redis | None = None
        for folder in path or ():
            if folder not in sys.path:
                sys.path.append(folder)
        self.worker_class = (
            _resolve_worker_class(worker_class) if isinstance(worker_class, str) else worker_class
        )
        self.job_class = _imported(job_class, "--job-class")
        self.death_penalty_class = _imported(death_penalty_class, "--death-penalty-class")
        self.queue_class = _imported(queue_class, "--queue-class")
        self.connection_class = _imported(connection_class, "--connection-class")

    @property
    def connection(self) -> redis.Redis:
        if self._connection is None:
            settings = load_settings({"redis_url": self.url}, module=self.config)
            self._connection = settings.connect()
        return self._connection


def _resolve_worker_class(name: str) -> type[BaseWorker]:
    try:
        return worker_class(name)
    except Exception as exc:
        raise UnimportableClassError(str(exc), param_hint="--worker-class") from None


__all__ = [
    "CliConfig",
    "UnimportableClassError",
    "parse_function_arg",
    "parse_function_args",
    "parse_schedule",
    "read_config_file",
]
