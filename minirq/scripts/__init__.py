"""The Lua scripts behind every state transition, registered once per connection.

Each ``.lua`` file in this folder starts with a comment listing its KEYS and ARGV.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

SCRIPT_NAMES = ("enqueue", "fetch", "finish", "fail", "requeue", "reap", "cancel", "empty")

_SOURCES: dict[str, str] = {}


def script_source(name: str) -> str:
    """The text of ``<name>.lua``."""
    if name not in _SOURCES:
        _SOURCES[name] = resources.files(__package__).joinpath(f"{name}.lua").read_text()
    return _SOURCES[name]


class Scripts:
    """The registered scripts of one connection; each call is one ``EVALSHA``."""

    def __init__(self, connection: redis.Redis) -> None:
        self._connection = connection
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

    def run_many(self, calls: list[tuple[str, list[str], list[Any]]]) -> list[Any]:
        """Run several scripts in one round trip, each still its own atomic step.

        Returns each script's reply, or the exception it raised, in order. Unlike
        ``run(client=pipeline)`` this does not ask ``SCRIPT EXISTS`` first (a second round
        trip): a script Redis has forgotten (restart, ``SCRIPT FLUSH``) did not run, so it
        is simply run again on its own.
        """
        with self._connection.pipeline(transaction=False) as pipe:
            for name, keys, args in calls:
                pipe.evalsha(self._scripts[name].sha, len(keys), *keys, *args)
            replies: list[Any] = pipe.execute(raise_on_error=False)
        for i, reply in enumerate(replies):
            if isinstance(reply, NoScriptError):
                name, keys, args = calls[i]
                try:
                    replies[i] = self.run(name, keys, args)
                except redis.ResponseError as exc:
                    replies[i] = exc
        return replies


def scripts_for(connection: redis.Redis) -> Scripts:
    """The :class:`Scripts` of a connection, registered on first use."""
    scripts: Scripts | None = getattr(connection, "_minirq_scripts", None)
    if scripts is None:
        scripts = Scripts(connection)
        connection._minirq_scripts = scripts  # type: ignore[attr-defined]
    return scripts
