"""The dashboard's blueprint, its settings, auth, CSRF and security headers, and create_app.

Everything that guards a request hangs on the blueprint, not on the app, so that it holds
just the same when the blueprint is mounted in someone else's Flask app.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    redirect,
    render_template,
    request,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from minirq.connection import connect, redact_url, redis_url_from_env
from minirq.defaults import DEFAULT_PREFIX
from minirq.exceptions import ConfigurationError
from minirq.serializers import resolve_serializer

from .data import Source
from .quiet import quiet_poll_logs
from .throttle import LoginThrottle

EXTENSION = "minirq_dashboard"
DEFAULT_USERNAME = "admin"
DEFAULT_POLL_MS = 3000
CSRF_COOKIE = "minirq_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
NO_VALUE = "\u2013"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

blueprint = Blueprint(
    EXTENSION,
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


@dataclass(frozen=True)
class Settings:
    """The dashboard's settings, read from the Flask config when the blueprint is registered.

    Config keys: ``MINIRQ_REDIS_URL`` (else ``$REDIS_URL``), ``MINIRQ_REDIS_CONNECTION`` (a
    ready ``redis.Redis``), ``MINIRQ_PREFIX``, ``MINIRQ_SERIALIZER``,
    ``MINIRQ_DASHBOARD_USERNAME`` (default ``admin``), ``MINIRQ_DASHBOARD_PASSWORD`` (else
    ``$MINIRQ_DASHBOARD_PASSWORD``; none means no login), ``MINIRQ_DASHBOARD_READ_ONLY``,
    ``MINIRQ_DASHBOARD_POLL_MS``, ``MINIRQ_DASHBOARD_TRUSTED_HOSTS`` (names the ``Host``
    header may carry besides loopback ones: a comma list or a list; ``.example.com``
    matches its subdomains, ``*`` any host) and ``MINIRQ_DASHBOARD_AUTHORIZE`` (a callable
    taking the WSGI environ and returning ``"write"``, ``"read"`` or ``None``; it replaces
    the password login, for a framework that authenticates its own users).
    """

    username: str
    password: str | None
    read_only: bool
    poll_ms: int
    redis_label: str
    trusted_hosts: tuple[str, ...] = ()
    authorize: Callable[[dict[str, Any]], str | None] | None = None


@dataclass(frozen=True)
class State:
    source: Source
    settings: Settings
    logins: LoginThrottle = field(default_factory=LoginThrottle)


def trusted_hosts(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The ``Host`` names served besides loopback ones: the configured list, the Flask
    app's own ``SERVER_NAME`` and ``TRUSTED_HOSTS``. Raises ConfigurationError."""
    value = config.get("MINIRQ_DASHBOARD_TRUSTED_HOSTS") or ()
    items = value.split(",") if isinstance(value, str) else list(value)
    extra = [config.get("SERVER_NAME") or "", *(config.get("TRUSTED_HOSTS") or ())]
    hosts = []
    for item in [*items, *extra]:
        if not isinstance(item, str):
            raise ConfigurationError(f"MINIRQ_DASHBOARD_TRUSTED_HOSTS: {item!r} is not a host name")
        host = item.strip().lower()
        if host and any(c in host for c in "/\\@ ?#"):
            raise ConfigurationError(
                f"MINIRQ_DASHBOARD_TRUSTED_HOSTS: {host!r} is not a host name (give names "
                "like jobs.example.com, .example.com for subdomains, or *)"
            )
        if host:
            hosts.append(host)
    return tuple(dict.fromkeys(hosts))


def flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def build_state(config: Mapping[str, Any]) -> State:
    """The pooled Redis client and settings of one app; raises :class:`ConfigurationError`."""
    connection = config.get("MINIRQ_REDIS_CONNECTION")
    url = config.get("MINIRQ_REDIS_URL") or redis_url_from_env()
    if connection is None:
        connection = connect(url)
        label = redact_url(url)
    elif isinstance(connection, redis.Redis):
        kwargs = connection.connection_pool.connection_kwargs
        label = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
    else:
        raise ConfigurationError("MINIRQ_REDIS_CONNECTION must be a redis.Redis client")
    password = config.get("MINIRQ_DASHBOARD_PASSWORD")
    if password is None:
        password = os.environ.get("MINIRQ_DASHBOARD_PASSWORD") or None
    try:
        poll_ms = int(config.get("MINIRQ_DASHBOARD_POLL_MS", DEFAULT_POLL_MS))
    except (TypeError, ValueError):
        raise ConfigurationError("MINIRQ_DASHBOARD_POLL_MS must be whole milliseconds") from None
    if poll_ms < 500:
        raise ConfigurationError("MINIRQ_DASHBOARD_POLL_MS must be at least 500")
    authorize = config.get("MINIRQ_DASHBOARD_AUTHORIZE")
    if authorize is not None and not callable(authorize):
        raise ConfigurationError(
            "MINIRQ_DASHBOARD_AUTHORIZE must be a callable taking the WSGI environ and "
            "returning 'write', 'read' or None"
        )
    settings = Settings(
        username=str(config.get("MINIRQ_DASHBOARD_USERNAME") or DEFAULT_USERNAME),
        password=str(password) if password else None,
        read_only=flag(config.get("MINIRQ_DASHBOARD_READ_ONLY", False)),
        poll_ms=poll_ms,
        redis_label=label,
        trusted_hosts=trusted_hosts(config),
        authorize=authorize,
    )
    # The configured serializer is checked but never used: job values are shown through
    # the display decoder, which cannot run code (see minirq.display_values).
    resolve_serializer(config.get("MINIRQ_SERIALIZER"))
    source = Source(
        connection=connection, prefix=str(config.get("MINIRQ_PREFIX") or DEFAULT_PREFIX)
    )
    source.keys  # noqa: B018 - validates the prefix now rather than on the first request
    return State(source=source, settings=settings)


@blueprint.record_once
def _init_state(setup: Any) -> None:
    setup.app.extensions[EXTENSION] = build_state(setup.app.config)


def state() -> State:
    return current_app.extensions[EXTENSION]  # type: ignore[no-any-return]


def source() -> Source:
    return state().source


def settings() -> Settings:
    return state().settings


# -- responses --------------------------------------------------------------------------


def json_response(payload: Any, status: int = 200) -> Response:
    """JSON that is inert even if a browser were tricked into reading it as HTML."""
    text = (
        json.dumps(payload, ensure_ascii=True)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("'", "\\u0027")
    )
    response = Response(text, status=status, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def is_api_request() -> bool:
    return (request.endpoint or "").startswith(f"{EXTENSION}.api_")


def error_response(status: int, message: str) -> ResponseReturnValue:
    if is_api_request() or request.accept_mimetypes.best == "application/json":
        return json_response({"error": message, "status": status}, status)
    return render_page("error.html", status=status, message=message), status


def render_page(template: str, **context: Any) -> str:
    return render_template(f"{EXTENSION}/{template}", **context)


@blueprint.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    return error_response(exc.code or 500, exc.description or exc.name)


@blueprint.errorhandler(redis.RedisError)
def _redis_error(exc: redis.RedisError) -> ResponseReturnValue:
    current_app.logger.warning("minirq dashboard: Redis error: %s", exc)
    return error_response(
        503, f"Redis at {settings().redis_label} cannot answer: {type(exc).__name__}: {exc}"
    )


# -- the stand-alone app ----------------------------------------------------------------


def normalize_prefix(prefix: str | None) -> str:
    """``/x`` for ``x``, ``/x/`` or ``/x``; ``""`` for none. Raises ConfigurationError."""
    prefix = (prefix or "").strip().strip("/")
    if not prefix:
        return ""
    if any(c in prefix for c in "?#\\ ") or "//" in prefix:
        raise ConfigurationError(f"invalid URL prefix {prefix!r}")
    return "/" + prefix


def config_from_env(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Dashboard config from ``REDIS_URL``, ``MINIRQ_PREFIX`` and ``MINIRQ_DASHBOARD_*``."""
    environ = os.environ if environ is None else environ
    names = (
        "MINIRQ_PREFIX",
        "MINIRQ_SERIALIZER",
        "MINIRQ_DASHBOARD_USERNAME",
        "MINIRQ_DASHBOARD_PASSWORD",
        "MINIRQ_DASHBOARD_READ_ONLY",
        "MINIRQ_DASHBOARD_POLL_MS",
        "MINIRQ_DASHBOARD_URL_PREFIX",
        "MINIRQ_DASHBOARD_PROXY_FIX",
        "MINIRQ_DASHBOARD_TRUSTED_HOSTS",
    )
    config: dict[str, Any] = {name: environ[name] for name in names if environ.get(name)}
    if environ.get("REDIS_URL"):
        config["MINIRQ_REDIS_URL"] = environ["REDIS_URL"]
    return config


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """A Flask app serving the dashboard.

    ``config`` holds Flask config keys: those of :class:`Settings`, plus
    ``MINIRQ_DASHBOARD_URL_PREFIX`` (mount under ``/x``) and ``MINIRQ_DASHBOARD_PROXY_FIX``
    (how many proxies to trust for ``X-Forwarded-For/-Proto/-Host/-Prefix``).
    Raises :class:`ConfigurationError` for a bad setting.
    """
    app = Flask(__name__, static_folder=None)
    app.config.update(config or {})
    quiet_poll_logs()
    prefix = normalize_prefix(app.config.get("MINIRQ_DASHBOARD_URL_PREFIX"))
    app.register_blueprint(blueprint, url_prefix=prefix or None)
    if prefix:
        app.add_url_rule("/", "root", lambda: redirect(prefix + "/"))
    try:
        proxies = int(app.config.get("MINIRQ_DASHBOARD_PROXY_FIX") or 0)
    except ValueError:
        raise ConfigurationError("MINIRQ_DASHBOARD_PROXY_FIX must be a number of proxies") from None
    if proxies < 0:
        raise ConfigurationError("MINIRQ_DASHBOARD_PROXY_FIX must be 0 or more")
    if proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_prefix=proxies
        )
    return app


@blueprint.app_template_filter("minirq_duration")
def format_duration(seconds: float | None, signed: bool = False) -> str:
    """``850 ms``, ``4.2 s``, ``3m 05s``, ``2h 03m``, ``3d 4h``; ``signed`` adds in/ago."""
    if seconds is None:
        return NO_VALUE
    text = _duration_text(abs(seconds))
    if not signed:
        return text
    return f"in {text}" if seconds >= 0 else f"{text} ago"


def _duration_text(s: float) -> str:
    if s < 1:
        return f"{s * 1000:.0f} ms"
    if s < 60:
        return f"{s:.1f} s"
    whole = int(s)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600}h"
