"""The one context every ``minirq`` command runs in, and the errors it turns into one line.

A command calls :meth:`CliContext.load` with its ``--url``/``--config`` flags (and any
settings flags of its own); from then on ``settings``, ``keys`` (with the configured
prefix), ``connection`` and the queue helpers all agree, so no command can forget the
prefix or the password redaction.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import click
import redis

from .. import store
from ..config import Settings, load_settings
from ..connection import redis_url_from_env
from ..exceptions import MinirqError
from ..keys import Keys
from ..queue import Queue
from ..redact import redact_url
from ..serializers import Serializer
from ..suspension import paused_queue_names
from ..worker import BaseWorker
from .options import add_to_path
from .rq_helpers import CliConfig, parse_function_arg, parse_schedule, read_config_file

# Setting name -> the flag a user typed, so that an error names what they wrote.
FLAG_NAMES = {
    "redis_url": "--url",
    "queues": "QUEUES",
    "worker_class": "--worker-class",
    "shutdown_timeout_s": "--shutdown-timeout",
    "lease_s": "--lease",
    "log_level": "--logging-level",
    "log_format": "--log-format",
    "allow_modules": "--allow-module",
}


# An unknown-queue error lists this many known names, enough to spot a typo.
KNOWN_QUEUES_SHOWN = 10


class UnknownQueueError(MinirqError):
    """A command named a queue that has no jobs, no registry entries and no worker."""


@dataclass
class CliContext:
    """Settings, connection and keys shared by every command (``click.Context.obj``)."""

    settings: Settings | None = None
    _connection: redis.Redis | None = field(default=None, repr=False)
    # The group's click context: the connection is closed when it closes.
    _click: click.Context | None = field(default=None, repr=False)

    def load(
        self,
        url: str | None = None,
        config_module: str | None = None,
        flags: Mapping[str, Any] | None = None,
    ) -> Settings:
        """Settings from the flags, the environment, the settings module and defaults.

        The current folder goes on the import path first, so that ``-c settings`` finds a
        settings module there, as ``python -m`` would.
        """
        add_to_path()
        self.settings = load_settings(
            {"redis_url": url, **(flags or {})}, module=config_module, flag_names=FLAG_NAMES
        )
        return self.settings

    @property
    def redis_url(self) -> str:
        """The URL in use (not redacted: pass it through ``redact_url`` before printing)."""
        return self.settings.redis_url if self.settings is not None else redis_url_from_env()

    @property
    def shown_url(self) -> str:
        return redact_url(self.redis_url)

    @property
    def prefix(self) -> str:
        return self._settings.prefix

    @property
    def keys(self) -> Keys:
        return Keys(self._settings.prefix)

    @property
    def _settings(self) -> Settings:
        if self.settings is None:
            self.load()
        assert self.settings is not None
        return self.settings

    def client(self) -> redis.Redis:
        """A client for the settings, closed with the command; no connection made yet."""
        if self._connection is None:
            self._connection = self._settings.connect()
            if self._click is not None:
                self._click.call_on_close(self._connection.close)
        return self._connection

    @property
    def connection(self) -> redis.Redis:
        """A client that has answered a PING (so a bad URL fails here, in one line)."""
        first = self._connection is None
        client = self.client()
        if first:
            client.ping()
        return client

    def queue(self, name: str, serializer: Serializer | str | None = None) -> Queue:
        return Queue(name, connection=self.connection, prefix=self.prefix, serializer=serializer)

    def known_queue_names(self) -> set[str]:
        """Queues with jobs or registries, queues a worker listens on, and paused ones."""
        connection = self.connection
        names = set(store.jobs.queue_names(connection, self.keys))
        names |= paused_queue_names(connection, self.prefix)
        for worker in BaseWorker.all(connection=connection, prefix=self.prefix):
            names.update(worker.queue_names)
        return names

    def existing_queues(self, names: Sequence[str]) -> list[Queue]:
        """``names`` as queues; raises :class:`UnknownQueueError` naming any unknown one."""
        known = self.known_queue_names()
        unknown = [n for n in names if n not in known]
        if unknown:
            shown = sorted(known)[:KNOWN_QUEUES_SHOWN]
            more = len(known) - len(shown)
            listed = ", ".join(shown) + (f" and {more} more" if more else "") or "none"
            raise UnknownQueueError(
                f"no queue named {', '.join(map(repr, unknown))} under prefix "
                f"{self.prefix!r} (known queues: {listed})"
            )
        return [self.queue(n) for n in names]


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


class MinirqGroup(click.Group):
    """Turns the errors a user can cause into one clear line and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except redis.RedisError as exc:
            fail(_redis_error_line(ctx, exc))
        except MinirqError as exc:
            fail(f"Error: {exc}")
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception:
            # Unexpected: a bug worth its traceback, but the traceback's messages may hold a
            # URL or connection kwargs, so it is masked like every other line.
            fail(traceback.format_exc().rstrip())


def fail(line: str) -> None:
    """Print ``line`` (passwords masked) to stderr and exit 1."""
    click.echo(redact_url(line), err=True)
    sys.exit(1)


def _redis_error_line(ctx: click.Context, exc: redis.RedisError) -> str:
    obj = ctx.find_object(CliContext)
    shown = obj.shown_url if obj is not None else redact_url(redis_url_from_env())
    if isinstance(exc, redis.AuthenticationError):
        # Before ConnectionError, which it derives from.
        return f"Error: Redis refused the credentials at {shown}: {exc}"
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return f"Error: cannot reach Redis at {shown}: {exc}"
    if "DB index is out of range" in str(exc):
        return (
            f"Error: Redis at {shown} has no such database ({exc}); the server's "
            "`databases` setting limits the number after the last / of the URL"
        )
    return f"Error: Redis at {shown} answered: {exc}"


__all__ = [
    "FLAG_NAMES",
    "CliConfig",
    "CliContext",
    "MinirqGroup",
    "UnknownQueueError",
    "fail",
    "parse_function_arg",
    "parse_schedule",
    "pass_cli",
    "read_config_file",
]
