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
    help="Redis URL (default: $REDIS_URL, else redis://localhost:6379/0).",
)
config_option = click.option(
    "-c",
    "--config",
    "config_module",
    default=None,
    metavar="MODULE",
    help="Settings module, e.g. myapp.minirq_settings (default: $MINIRQ_SETTINGS).",
)
serializer_option = click.option(
    "--serializer",
    default=None,
    metavar="NAME|DOTTED.PATH",
    help="pickle (default), json, or the dotted path of an object with dumps() and "
    "loads(); enqueuer and worker must use the same.",
)
path_option = click.option(
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
    "--logging-level",
    default=None,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Default INFO.",
)
log_format_option = click.option(
    "--log-format",
    default=None,
    type=click.Choice(["text", "json"]),
    help="text (default), or json: one object per line for log drains.",
)


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
    "kwarg_option",
    "log_format_option",
    "logging_level_option",
    "parse_call_arguments",
    "parse_json",
    "path_option",
    "resolve_serializer",
    "serializer_option",
    "url_option",
]
