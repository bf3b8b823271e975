"""The Lua scripts behind every state transition, registered once per connection.

Each ``.lua`` file in this folder starts with a comment listing its KEYS and ARGV. A
``lib_*.lua`` file is a library, not a script: a line ``-- @include lib_name`` in a script
is replaced by its text when the script is loaded.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import redis
from redis.commands.core import Script

SCRIPT_NAMES: tuple[str, ...] = (
    "enqueue",
    "fetch",
    "finish",
    "fail",
    "requeue",
    "reap",
    "cancel",
    "empty",
    "empty_registry",
    # scheduling
    "schedule",
    "move_due",
    "scheduler_lease",
    "cron_fire",
    "repeat",
)
# Scripts of the job features (dependencies, unique jobs).
SCRIPT_NAMES += ("enqueue_checked",)

_INCLUDE_RE = re.compile(r"^-- @include (lib_\w+)$", re.MULTILINE)

_SOURCES: dict[str, str] = {}


def script_source(name: str) -> str:
    """The text of ``<name>.lua``."""
    if name not in _SOURCES:
        text = resources.files(__package__).joinpath(f"{name}.lua").read_text()
        _SOURCES[name] = _INCLUDE_RE.sub(lambda m: script_source(m.group(1)), text)
    return _SOURCES[name]


class Scripts:
    """The registered scripts of one connection; each call is one ``EVALSHA``."""

    def __init__(self, connection: redis.Redis) -> None:
        self._scripts: dict[str, Script] = {
            name: connection.register_script(script_source(name)) for name in SCRIPT_NAMES
        }

    def run(
        self,
        name: str,
        keys: list[str],
        args: list[Any],
        client: Any = None,
    ) -> Any:
        """Run script ``name``; ``client`` may be a pipeline to batch calls."""
        return self._scripts[name](keys=keys, args=args, client=client)


def scripts_for(connection: redis.Redis) -> Scripts:
    """The :class:`Scripts` of a connection, registered on first use."""
    scripts: Scripts | None = getattr(connection, "_minirq_scripts", None)
    if scripts is None:
        scripts = Scripts(connection)
        connection._minirq_scripts = scripts  # type: ignore[attr-defined]
    return scripts
