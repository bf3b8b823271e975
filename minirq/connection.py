"""Redis connections: from a URL or ``REDIS_URL``, with passwords kept out of output."""

from __future__ import annotations

import os
import re

import redis

from .defaults import DEFAULT_REDIS_URL
from .exceptions import ConfigurationError

_PASSWORD_RE = re.compile(r"(?P<scheme>[a-z+]+://)(?P<user>[^:@/]*):(?P<password>[^@/]*)@")


def redis_url_from_env() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``."""
    return _PASSWORD_RE.sub(lambda m: f"{m['scheme']}{m['user']}:***@", url)


def connect(url: str | None = None) -> redis.Redis:
    """A client for ``url``, or for ``REDIS_URL`` (default ``redis://localhost:6379/0``).

    Raises :class:`ConfigurationError` for a URL that cannot be parsed.
    """
    url = url or redis_url_from_env()
    try:
        return redis.Redis.from_url(url, health_check_interval=30)
    except ValueError as exc:
        raise ConfigurationError(f"invalid Redis URL {redact_url(url)!r}: {exc}") from None


def resolve_connection(connection: redis.Redis | None) -> redis.Redis:
    return connection if connection is not None else connect()
