"""The dashboard's blueprint, its settings, auth, CSRF and security headers, and create_app.

Everything that guards a request hangs on the blueprint, not on the app, so that it holds
just the same when the blueprint is mounted in someone else's Flask app.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import redis
from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from minirq.connection import connect, redact_url, redis_url_from_env
from minirq.defaults import DEFAULT_PREFIX
from minirq.exceptions import ConfigurationError
from minirq.serializers import resolve_serializer

from .data import Source

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
    ``$MINIRQ_DASHBOARD_PASSWORD``; none means no login), ``MINIRQ_DASHBOARD_READ_ONLY`` and
    ``MINIRQ_DASHBOARD_POLL_MS``.
    """

    username: str
    password: str | None
    read_only: bool
    poll_ms: int
    redis_label: str


@dataclass(frozen=True)
class State:
    source: Source
    settings: Settings


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
    settings = Settings(
        username=str(config.get("MINIRQ_DASHBOARD_USERNAME") or DEFAULT_USERNAME),
        password=str(password) if password else None,
        read_only=flag(config.get("MINIRQ_DASHBOARD_READ_ONLY", False)),
        poll_ms=poll_ms,
        redis_label=label,
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


# -- guards -----------------------------------------------------------------------------


def csrf_token() -> str:
    """This browser's CSRF token: the value of its cookie, made on its first visit."""
    token: str | None = g.get("minirq_csrf")
    if token is None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        valid = 20 <= len(cookie) <= 100 and cookie.isascii()
        token = cookie if valid else secrets.token_urlsafe(32)
        g.minirq_csrf = token
    return token


def _authorized() -> bool:
    config = settings()
    if config.password is None:
        return True
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return False
    # Both comparisons always run, so timing tells nothing about which one failed.
    user_ok = hmac.compare_digest((auth.username or "").encode(), config.username.encode())
    password_ok = hmac.compare_digest((auth.password or "").encode(), config.password.encode())
    return user_ok and password_ok


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        return referer is None or urlsplit(referer).netloc == request.host
    return urlsplit(origin).netloc == request.host


@blueprint.before_request
def _guard() -> ResponseReturnValue | None:
    if not _authorized():
        response = error_response(401, "log in to see the minirq dashboard")
        response = current_app.make_response(response)
        response.headers["WWW-Authenticate"] = 'Basic realm="minirq dashboard", charset="UTF-8"'
        return response
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if settings().read_only:
        return error_response(403, "the dashboard is read-only: actions are disabled")
    if not _same_origin():
        return error_response(
            403,
            "cross-origin request refused (behind a proxy, pass the Host header through or "
            "set MINIRQ_DASHBOARD_PROXY_FIX)",
        )
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD) or ""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        return error_response(
            403, "missing or wrong CSRF token: reload the page and try again"
        )
    return None


@blueprint.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if response.mimetype == "application/json":
        response.headers["Cache-Control"] = "no-store"
    token = g.get("minirq_csrf")
    if token is not None and request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(
            CSRF_COOKIE,
            token,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
            path=url_for(f"{EXTENSION}.overview"),
        )
    return response


@blueprint.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> ResponseReturnValue:
    return error_response(exc.code or 500, exc.description or exc.name)


@blueprint.errorhandler(redis.RedisError)
def _redis_error(exc: redis.RedisError) -> ResponseReturnValue:
    current_app.logger.warning("minirq dashboard: Redis error: %s", exc)
    return error_response(
        503, f"Redis at {settings().redis_label} cannot answer: {type(exc).__name__}: {exc}"
    )


@blueprint.context_processor
def _context() -> dict[str, Any]:
    config = settings()
    return {
        "csrf_token": csrf_token,
        "read_only": config.read_only,
        "poll_ms": config.poll_ms,
        "redis_label": config.redis_label,
    }


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
