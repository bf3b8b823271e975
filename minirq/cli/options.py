"""Options and argument parsing shared by several commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from ..exceptions import ConfigurationError
from ..serializers import SERIALIZERS, Serializer
from ..utils import import_attribute

F = TypeVar("F", bound=Callable[..., Any])

url_option = click.option(
    "-u",
    "--url",
    default=None,
    envvar="RQ_REDIS_URL",
    help="Redis URL (default: $RQ_REDIS_URL, else $REDIS_URL, else redis://localhost:6379/0).",
)
config_option = click.option(
    "-c",
    "--config",
    "config_module",
    default=None,
    envvar="RQ_CONFIG",
    metavar="MODULE",
    help="Settings module, e.g. myapp.minirq_settings (default: $RQ_CONFIG, else "
    "$MINIRQ_SETTINGS).",
)
serializer_option = click.option(
    "-S",
    "--serializer",
    default=None,
    metavar="NAME|DOTTED.PATH",
    help="pickle (default), json, or the dotted path of an object with dumps() and "
    "loads(); enqueuer and worker must use the same.",
)
path_option = click.option(
    "-P",
    "--path",
    "paths",
    multiple=True,
    type=click.Path(file_okay=False),
    help="Add a folder to the import path (repeatable; the current folder is always included).",
)
kwarg_option = click.option(
    "-k",
    "--kwarg",
    "kwargs",
    multiple=True,
    metavar="NAME=JSON",
    help="A keyword argument whose value is JSON (repeatable).",
)
logging_level_option = click.option(
    "-l",
    "--logging-level",
    "--logging_level",
    "logging_level",
    default=None,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], case_sensitive=False),
    help="Default INFO.",
)


def _log_format(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None or value in ("text", "json") or "%(" in value:
        return value
    raise click.BadParameter(
        f"{value!r} is neither text, json, nor a logging format such as '%(asctime)s %(message)s'"
    )


log_format_option = click.option(
    "--log-format",
    default=None,
    callback=_log_format,
    metavar="text|json|FORMAT",
    help="text (default); json: one object per line for log drains; or a logging format "
    "such as RQ's '%(asctime)s %(message)s'.",
)
date_format_option = click.option(
    "--date-format",
    default=None,
    metavar="FORMAT",
    help="strftime format of the times in text log lines, such as RQ's '%H:%M:%S'.",
)
verbosity_options = [
    click.option("-v", "--verbose", is_flag=True, help="Log DEBUG lines too."),
    click.option("-q", "--quiet", is_flag=True, help="Log WARNING lines and worse only."),
]


def level_from_flags(logging_level: str | None, verbose: bool, quiet: bool) -> str | None:
    """The logging level ``-v``/``-q`` ask for, else ``logging_level`` (RQ's rule)."""
    if verbose and quiet:
        raise click.UsageError("--verbose and --quiet contradict each other")
    if verbose:
        return "DEBUG"
    if quiet:
        return "WARNING"
    return logging_level


def connection_options(f: F) -> F:
    """``-u/--url`` and ``-c/--config``: where the Redis URL and the prefix come from."""
    return url_option(config_option(f))


def resolve_serializer(value: str | None) -> Serializer | str | None:
    """A serializer name as is, or the object a dotted path names."""
    if value is None or value in SERIALIZERS:
        return value
    if "." not in value:
        raise ConfigurationError(
            f"unknown serializer {value!r}; choose one of {sorted(SERIALIZERS)} or give the "
            "dotted path of an object with dumps() and loads()"
        )
    try:
        return import_attribute(value)  # type: ignore[no-any-return]
    except Exception as exc:
        raise ConfigurationError(
            f"cannot import serializer {value!r}: {type(exc).__name__}: {exc}"
        ) from exc


def add_to_path(paths: Sequence[str] = ()) -> None:
    """Make the current folder (and ``paths``) importable, as ``python -m`` would."""
    for path in reversed(("", *paths)):
        if path not in sys.path:
            sys.path.insert(0, path)


def parse_json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.BadParameter(
            f"{what} {text!r} is not JSON ({exc.msg}); quote text as '\"text\"'"
        ) from None


def parse_call_arguments(
    args: Sequence[str], kwargs: Sequence[str]
) -> tuple[list[Any], dict[str, Any]]:
    """JSON positional ``args`` and ``NAME=JSON`` ``kwargs``, each refused by name."""
    values = [parse_json(text, f"argument {i + 1}") for i, text in enumerate(args)]
    named: dict[str, Any] = {}
    for item in kwargs:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{item!r} is not NAME=JSON", param_hint="--kwarg")
        named[key] = parse_json(text, f"keyword argument {key!r}")
    return values, named


__all__ = [
    "add_to_path",
    "config_option",
    "connection_options",
    "date_format_option",
    "kwarg_option",
    "level_from_flags",
    "log_format_option",
    "logging_level_option",
    "parse_call_arguments",
    "parse_json",
    "path_option",
    "resolve_serializer",
    "serializer_option",
    "url_option",
    "verbosity_options",
]
