"""Settings for minirq's processes, from four sources in a fixed precedence.

Highest first:

1. command-line flags (``minirq worker --lease 60``);
2. environment variables: ``REDIS_URL`` and ``MINIRQ_*`` (``MINIRQ_LEASE_S=60``);
3. a settings module named by ``-c myapp.minirq_settings`` or ``MINIRQ_SETTINGS``, holding
   upper-case names (``LEASE_S = 60``, ``QUEUES = ["high", "default"]``; RQ's
   ``REDIS_HOST``, ``REDIS_PORT``, ``REDIS_DB``, ``REDIS_PASSWORD`` and ``REDIS_SSL`` too,
   when it has no ``REDIS_URL``);
4. RQ's ``REDIS_HOST``... in the environment, when nothing above names a Redis;
5. the defaults below.

An invalid value raises :class:`ConfigurationError` with one line naming the setting and
where it came from.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any
from urllib.parse import quote

import redis

from .callables import normalize_allowlist
from .connection import SSL_CERT_REQS_CHOICES, connect
from .defaults import (
    DEFAULT_LEASE_S,
    DEFAULT_PREFIX,
    DEFAULT_QUEUE_NAME,
    DEFAULT_REDIS_URL,
    DEFAULT_SHUTDOWN_TIMEOUT_S,
)
from .exceptions import ConfigurationError
from .keys import Keys
from .queue import validate_queue_name
from .redact import redact_url
from .worker import worker_class

SETTINGS_MODULE_ENV = "MINIRQ_SETTINGS"
LOG_LEVEL_CHOICES = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMAT_CHOICES = ("text", "json")


@dataclass(frozen=True)
class Settings:
    """What ``minirq worker``, ``info`` and the other commands run with.

    ``allow_modules`` limits a worker to job and callback functions in those modules (and
    their submodules); empty means no limit.
    """

    redis_url: str = DEFAULT_REDIS_URL
    redis_ssl_cert_reqs: str | None = None
    redis_ssl_ca_certs: str | None = None
    prefix: str = DEFAULT_PREFIX
    queues: tuple[str, ...] = (DEFAULT_QUEUE_NAME,)
    worker_class: str = "fork"
    lease_s: float = DEFAULT_LEASE_S
    shutdown_timeout_s: float = DEFAULT_SHUTDOWN_TIMEOUT_S
    log_level: str = "INFO"
    log_format: str = "text"
    allow_modules: tuple[str, ...] = ()

    def __repr__(self) -> str:
        # A Settings object in a log line or traceback must not show the Redis password.
        shown = ", ".join(
            f"{name}={getattr(self, name)!r}" for name in _FIELDS if name != "redis_url"
        )
        return f"Settings(redis_url={redact_url(self.redis_url)!r}, {shown})"

    def connect(self) -> redis.Redis:
        """A Redis client for these settings (no connection is made yet)."""
        return connect(
            self.redis_url,
            ssl_cert_reqs=self.redis_ssl_cert_reqs,
            ssl_ca_certs=self.redis_ssl_ca_certs,
        )


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be non-empty text")
    return value.strip()


def _choice(choices: tuple[str, ...], upper: bool = False) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = _text(value)
        text = text.upper() if upper else text.lower()
        if text not in choices:
            raise ValueError(f"choose one of {', '.join(choices)}")
        return text

    return parse


def _seconds(minimum: float) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        if isinstance(value, bool):
            raise ValueError("must be a number of seconds")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError("must be a number of seconds") from None
        if not number >= minimum:  # also refuses NaN
            raise ValueError(f"must be at least {minimum:g}")
        return number

    return parse


def _queues(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not items:
        raise ValueError("must be queue names, comma-separated or a list")
    names = tuple(validate_queue_name(str(item).strip()) for item in items)
    if len(set(names)) != len(names):
        raise ValueError("names a queue twice")
    return names


def _module_names(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise ValueError("must be module names, comma-separated or a list")
    names: list[str] = []
    for item in items:
        name = item.strip() if isinstance(item, str) else item
        try:
            # The workers' own rule, so that a name the settings accept the worker does too.
            normalize_allowlist([name])
        except ConfigurationError:
            raise ValueError(f"{name!r} is not a dotted module name (such as myapp.jobs)") from None
        if name not in names:
            names.append(name)
    return tuple(names)


def _worker_class_name(value: Any) -> str:
    """``fork``, ``simple``, a worker class name or a dotted path, checked by importing."""
    text = _text(value)
    try:
        worker_class(text)
    except ConfigurationError as exc:
        raise ValueError(str(exc)) from None
    return text


def _prefix(value: Any) -> str:
    return Keys(_text(value)).prefix


# Each setting: its parser, its environment variable, its name in a settings module.
_FIELDS: dict[str, tuple[Callable[[Any], Any], str, str]] = {
    "redis_url": (_text, "REDIS_URL", "REDIS_URL"),
    "redis_ssl_cert_reqs": (
        _choice(SSL_CERT_REQS_CHOICES),
        "MINIRQ_REDIS_SSL_CERT_REQS",
        "REDIS_SSL_CERT_REQS",
    ),
    "redis_ssl_ca_certs": (_text, "MINIRQ_REDIS_SSL_CA_CERTS", "REDIS_SSL_CA_CERTS"),
    "prefix": (_prefix, "MINIRQ_PREFIX", "PREFIX"),
    "queues": (_queues, "MINIRQ_QUEUES", "QUEUES"),
    "worker_class": (_worker_class_name, "MINIRQ_WORKER_CLASS", "WORKER_CLASS"),
    "lease_s": (_seconds(1), "MINIRQ_LEASE_S", "LEASE_S"),
    "shutdown_timeout_s": (_seconds(0), "MINIRQ_SHUTDOWN_TIMEOUT_S", "SHUTDOWN_TIMEOUT_S"),
    "log_level": (_choice(LOG_LEVEL_CHOICES, upper=True), "MINIRQ_LOG_LEVEL", "LOG_LEVEL"),
    "log_format": (_choice(LOG_FORMAT_CHOICES), "MINIRQ_LOG_FORMAT", "LOG_FORMAT"),
    "allow_modules": (_module_names, "MINIRQ_ALLOW_MODULES", "ALLOW_MODULES"),
}
ENVIRONMENT_VARIABLES = tuple(env for _, env, _ in _FIELDS.values())


def _parse(name: str, value: Any, where: str) -> Any:
    try:
        return _FIELDS[name][0](value)
    except (ValueError, ConfigurationError) as exc:
        # A URL's password must not reach the message, whatever was wrong with it.
        raise ConfigurationError(redact_url(f"invalid {where} {value!r}: {exc}")) from None


def redis_url_from_parts(source: Mapping[str, Any]) -> str | None:
    """RQ's separate connection settings (``REDIS_HOST``, ``REDIS_PORT``, ``REDIS_DB``,
    ``REDIS_PASSWORD``, ``REDIS_SSL``) as a URL, when ``source`` has no ``REDIS_URL`` but
    one of them; ``None`` otherwise."""
    if source.get("REDIS_URL") or not any(source.get(f"REDIS_{p}") for p in _URL_PARTS):
        return None
    ssl = str(source.get("REDIS_SSL", "")).strip().lower() in ("1", "y", "yes", "t", "true")
    password = source.get("REDIS_PASSWORD")
    auth = f":{quote(str(password), safe='')}@" if password else ""
    host = source.get("REDIS_HOST") or "localhost"
    port, db = source.get("REDIS_PORT") or 6379, source.get("REDIS_DB") or 0
    return f"{'rediss' if ssl else 'redis'}://{auth}{host}:{port}/{db}"


_URL_PARTS = ("HOST", "PORT", "DB", "PASSWORD", "SSL")


def import_settings_module(dotted: str) -> ModuleType:
    """Import a settings module, turning any failure into one clear line. A file name
    such as ``config.py`` or ``conf/settings.py`` (as RQ's docs write it) names the
    module ``config`` or ``conf.settings``."""
    if dotted.endswith(".py") and os.path.isfile(dotted):
        dotted = os.path.normpath(dotted[:-3]).replace(os.sep, ".")
    try:
        return importlib.import_module(dotted)
    except Exception as exc:
        raise ConfigurationError(
            f"cannot import settings module {dotted!r}: {type(exc).__name__}: {exc}"
        ) from None


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    module: str | None = None,
    environ: Mapping[str, str] | None = None,
    flag_names: Mapping[str, str] | None = None,
) -> Settings:
    """Settings from ``flags`` (``None`` values are not given), the environment, the
    settings module (``module`` or ``$MINIRQ_SETTINGS``) and the defaults.

    ``flag_names`` maps a setting to the flag that set it (``{"lease_s": "--lease"}``), so
    that an error names what the user typed.

    Raises :class:`ConfigurationError` for an unknown flag name, a module that cannot be
    imported, or an invalid value.
    """
    environ = os.environ if environ is None else environ
    flags = dict(flags or {})
    unknown = set(flags) - set(_FIELDS)
    if unknown:
        raise ConfigurationError(f"unknown settings: {', '.join(sorted(unknown))}")
    # RQ's REDIS_HOST/PORT/DB/PASSWORD in the environment: only when nothing else names
    # the Redis to use, so that they never override a REDIS_URL.
    values: dict[str, Any] = {}
    parts_url = redis_url_from_parts(environ)
    if parts_url is not None:
        values["redis_url"] = _parse("redis_url", parts_url, "REDIS_HOST/PORT/DB/PASSWORD")
    module_name = module or environ.get(SETTINGS_MODULE_ENV) or None
    if module_name:
        loaded = import_settings_module(module_name)
        if getattr(loaded, "SENTINEL", None) is not None:
            raise ConfigurationError(
                f"SENTINEL in {module_name} is not supported: give REDIS_URL, the address "
                "of the master"
            )
        parts_url = redis_url_from_parts(vars(loaded))
        if parts_url is not None:
            values["redis_url"] = _parse("redis_url", parts_url, f"REDIS_HOST in {module_name}")
        for name, (_, _, attribute) in _FIELDS.items():
            if hasattr(loaded, attribute):
                values[name] = _parse(
                    name, getattr(loaded, attribute), f"{attribute} in {module_name}"
                )
    for name, (_, env, _) in _FIELDS.items():
        if environ.get(env, "") != "":
            values[name] = _parse(name, environ[env], env)
    for name, value in flags.items():
        if value is not None:
            flag = (flag_names or {}).get(name) or "--" + name.replace("_", "-")
            values[name] = _parse(name, value, flag)
    return replace(Settings(), **values)


__all__ = [
    "ENVIRONMENT_VARIABLES",
    "SETTINGS_MODULE_ENV",
    "Settings",
    "import_settings_module",
    "load_settings",
]
