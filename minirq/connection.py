"""Redis connections: from a URL or ``REDIS_URL``, with TLS, Sentinel, and passwords kept
out of output.

URL forms:

- ``redis://[[user]:password@]host[:port][/db]``: plain TCP.
- ``rediss://...``: TLS. Certificates are checked unless ``?ssl_cert_reqs=none`` is in the
  URL or ``MINIRQ_REDIS_SSL_CERT_REQS=none`` is set (Heroku Redis serves a self-signed
  certificate, so it needs one of them). ``?ssl_ca_certs=/path/ca.pem`` or
  ``MINIRQ_REDIS_SSL_CA_CERTS`` trusts a private CA instead.
- ``unix:///path/redis.sock?db=0``: a local socket.
- ``redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/service[/db]``: ask
  the Sentinels (port 26379 by default) for the current master of ``service``.
  ``rediss+sentinel://`` uses TLS to the Sentinels and the master; ``?sentinel_password=``
  authenticates to the Sentinels (the URL's own password is the master's).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import redis
from redis.sentinel import Sentinel

from .defaults import DEFAULT_REDIS_URL, DEFAULT_SENTINEL_PORT, REDIS_HEALTH_CHECK_INTERVAL_S
from .exceptions import ConfigurationError
from .redact import redact_url as redact_url
from .redact import remember_secret, split_userinfo

SSL_CERT_REQS_ENV = "MINIRQ_REDIS_SSL_CERT_REQS"
SSL_CA_CERTS_ENV = "MINIRQ_REDIS_SSL_CA_CERTS"
_SSL_ENVS = (SSL_CERT_REQS_ENV, SSL_CA_CERTS_ENV)
SSL_CERT_REQS_CHOICES = ("required", "optional", "none")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")

_SSL_CERT_REQS_RE = re.compile(r"[?&]ssl_cert_reqs=([^&]*)")
_NUMBER_OPTIONS = ("socket_timeout", "socket_connect_timeout", "health_check_interval")


def redis_url_from_env() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


@dataclass(frozen=True)
class SentinelURL:
    """A parsed ``redis+sentinel://`` URL."""

    hosts: tuple[tuple[str, int], ...]
    service_name: str
    db: int = 0
    username: str | None = None
    password: str | None = None
    sentinel_password: str | None = None
    ssl: bool = False
    options: dict[str, str] = field(default_factory=dict)


def parse_sentinel_url(url: str) -> SentinelURL:
    """Parse ``redis+sentinel://[[user]:password@]h1[:p1][,h2[:p2]...]/service[/db][?...]``.

    Raises :class:`ConfigurationError` naming what is wrong.
    """
    scheme, sep, rest = url.partition("://")
    if not sep or scheme not in SENTINEL_SCHEMES:
        raise ConfigurationError(f"not a Sentinel URL (scheme must be one of {SENTINEL_SCHEMES})")
    userinfo, rest = split_userinfo(scheme, rest, parsing=True)
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    username = password = None
    if userinfo is not None:
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    if not netloc:
        raise ConfigurationError("a Sentinel URL needs at least one host:port")
    hosts = tuple(_parse_host(item) for item in netloc.split(","))
    parts = [p for p in path.split("/") if p]
    if not parts or len(parts) > 2:
        raise ConfigurationError("a Sentinel URL's path must be /service_name or /service_name/db")
    service_name = unquote(parts[0])
    db = 0
    if len(parts) == 2:
        if not parts[1].isdigit():
            raise ConfigurationError(f"database {parts[1]!r} is not a number")
        db = int(parts[1])
    options = dict(parse_qsl(query, keep_blank_values=True))
    sentinel_password = options.pop("sentinel_password", None)
    if "db" in options:
        if not options["db"].isdigit():
            raise ConfigurationError(f"database {options['db']!r} is not a number")
        db = int(options.pop("db"))
    return SentinelURL(
        hosts=hosts,
        service_name=service_name,
        db=db,
        username=username,
        password=password,
        sentinel_password=sentinel_password or None,
        ssl=scheme == "rediss+sentinel",
        options=options,
    )


def _parse_host(item: str) -> tuple[str, int]:
    if item.startswith("["):
        host, _, port_text = item[1:].partition("]")
        port_text = port_text.removeprefix(":")
    else:
        host, _, port_text = item.partition(":")
    if not host:
        raise ConfigurationError(f"empty host in {item!r}")
    if not port_text:
        return host, DEFAULT_SENTINEL_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigurationError(f"port {port_text!r} of {host!r} is not a port number")
    return host, int(port_text)


def _ssl_options(url: str, ssl_cert_reqs: str | None, ssl_ca_certs: str | None) -> dict[str, Any]:
    """TLS keyword arguments from the settings and the environment, checked."""
    options: dict[str, Any] = {}
    match = _SSL_CERT_REQS_RE.search(url)
    from_url = unquote(match[1]) if match else None
    reqs = ssl_cert_reqs or os.environ.get(SSL_CERT_REQS_ENV) or None
    checked = ((from_url, "ssl_cert_reqs in the URL"), (reqs, SSL_CERT_REQS_ENV))
    for value, where in checked:
        if value is not None and value.lower() not in SSL_CERT_REQS_CHOICES:
            raise ConfigurationError(
                f"invalid {where} {value!r}: choose one of {', '.join(SSL_CERT_REQS_CHOICES)}"
            )
    if reqs is not None and from_url is None:
        options["ssl_cert_reqs"] = reqs.lower()
    ca_certs = ssl_ca_certs or os.environ.get(SSL_CA_CERTS_ENV) or None
    if ca_certs is not None and "ssl_ca_certs=" not in url:
        if not os.path.isfile(ca_certs):
            raise ConfigurationError(f"invalid {SSL_CA_CERTS_ENV} {ca_certs!r}: no such file")
        options["ssl_ca_certs"] = ca_certs
    return options


def connect(
    url: str | None = None,
    *,
    ssl_cert_reqs: str | None = None,
    ssl_ca_certs: str | None = None,
) -> redis.Redis:
    """A client for ``url``, or for ``REDIS_URL`` (default ``redis://localhost:6379/0``).

    ``ssl_cert_reqs`` (``required``, ``optional`` or ``none``) and ``ssl_ca_certs`` apply to
    ``rediss://`` URLs; when not given they come from ``MINIRQ_REDIS_SSL_CERT_REQS`` and
    ``MINIRQ_REDIS_SSL_CA_CERTS``, and a value in the URL's query wins over both. No
    connection is made until the first command. Raises :class:`ConfigurationError` for a
    URL or TLS setting that cannot be used.
    """
    url = url or redis_url_from_env()
    try:
        url = normalize_url(url)
        scheme = url.partition("://")[0]
        tls = scheme in ("rediss", "rediss+sentinel")
        ssl_options = _ssl_options(url, ssl_cert_reqs, ssl_ca_certs) if tls else {}
        if scheme in SENTINEL_SCHEMES:
            parsed = parse_sentinel_url(url)
            for secret in (parsed.password, parsed.sentinel_password):
                remember_secret(secret)
            return _connect_sentinel(parsed, ssl_options)
        client = redis.Redis.from_url(
            url, health_check_interval=REDIS_HEALTH_CHECK_INTERVAL_S, **ssl_options
        )
    except (ValueError, ConfigurationError) as exc:
        # redact_url also covers the exception text: urllib and redis-py echo URL parts.
        raise ConfigurationError(redact_url(f"invalid Redis URL {url!r}: {exc}")) from None
    remember_secret(client.connection_pool.connection_kwargs.get("password"))
    return client


def normalize_url(url: str) -> str:
    """``url`` as redis-py can read it, checked.

    The scheme is lower-cased (``REDIS://`` is ``redis://``); the user name and password are
    percent-encoded, so that one holding ``/``, ``?``, ``#`` or ``@`` is read whole instead
    of being cut at that character; its known secrets are remembered for redaction before
    anything can fail. Raises :class:`ConfigurationError` for a database that is not a
    whole number (redis-py would silently use database 0 for ``/abc``).
    """
    scheme, sep, rest = url.strip().partition("://")
    if not sep:
        raise ConfigurationError(
            "a Redis URL starts with redis://, rediss://, unix:// or redis+sentinel://"
        )
    scheme = scheme.lower()
    userinfo, remainder = split_userinfo(scheme, rest, parsing=True)
    if userinfo is not None:
        user, has_password, password = userinfo.partition(":")
        remember_secret(unquote(password) if has_password else None)
        encoded = quote(unquote(user), safe="")
        if has_password:
            encoded += ":" + quote(unquote(password), safe="")
        rest = f"{encoded}@{remainder}"
    normalized = f"{scheme}://{rest}"
    if scheme in ("redis", "rediss"):
        _check_db(normalized)
    return normalized


def _check_db(url: str) -> None:
    parts = urlsplit(url)
    path = unquote(parts.path)
    if path not in ("", "/") and not re.fullmatch(r"/\d+/?", path):
        raise ConfigurationError(
            f"database {path[1:]!r} is not a number: end the URL with /0, /1, ..."
        )
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name == "db" and not value.isdigit():
            raise ConfigurationError(f"database {value!r} (db=) is not a number")


def _connect_sentinel(parsed: SentinelURL, ssl_options: dict[str, Any]) -> redis.Redis:
    common: dict[str, Any] = {}
    for name, value in parsed.options.items():
        if name in _NUMBER_OPTIONS:
            try:
                common[name] = float(value)
            except ValueError:
                raise ConfigurationError(f"{name} {value!r} is not a number") from None
        elif name.startswith("ssl_"):
            common[name] = value
        else:
            raise ConfigurationError(f"unknown option {name!r} in a Sentinel URL")
    if parsed.ssl:
        common["ssl"] = True
        common.update(ssl_options)
    sentinel_kwargs = dict(common)
    if parsed.sentinel_password:
        sentinel_kwargs["password"] = parsed.sentinel_password
    sentinel = Sentinel(  # type: ignore[no-untyped-call]
        list(parsed.hosts), sentinel_kwargs=sentinel_kwargs
    )
    common.setdefault("health_check_interval", REDIS_HEALTH_CHECK_INTERVAL_S)
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        parsed.service_name,
        db=parsed.db,
        username=parsed.username,
        password=parsed.password,
        **common,
    )
    return client


_clients_from_env: dict[tuple[str | None, ...], redis.Redis] = {}


def resolve_connection(connection: redis.Redis | None) -> redis.Redis:
    """``connection``, or when it is ``None`` the client :func:`connect` makes from the
    environment: one per process and setting, so that ``Queue("q")`` or ``Job.fetch(id)``
    in a loop shares one connection pool instead of opening a socket per call."""
    if connection is not None:
        return connection
    settings = tuple(os.environ.get(name) for name in ("REDIS_URL", *_SSL_ENVS))
    client = _clients_from_env.get(settings)
    if client is None:
        client = _clients_from_env[settings] = connect()
    return client


def get_connection_kwargs(connection: redis.Redis) -> dict[str, Any]:
    """The keyword arguments a client was made with (host, port, db, ...), to make
    another like it in a child process (RQ's helper)."""
    return dict(connection.connection_pool.connection_kwargs)
