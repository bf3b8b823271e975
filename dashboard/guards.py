"""What guards every request to the dashboard, in order: the ``Host`` header (against DNS
rebinding), who the caller is (password login, slowed after failures, or the embedding
framework's ``MINIRQ_DASHBOARD_AUTHORIZE``), then for anything but GET: read-only mode,
same origin and the CSRF token. Plus the security headers on every response.

Everything hangs on the blueprint, not on the app, so that it holds just the same when the
blueprint is mounted in someone else's Flask app.
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import Response, current_app, g, request, url_for
from flask.typing import ResponseReturnValue

from .app import (
    CONTENT_SECURITY_POLICY,
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    blueprint,
    error_response,
    settings,
    state,
)

HSTS = "max-age=31536000"
ACCESS_LEVELS = ("write", "read")


def csrf_token() -> str:
    """This browser's CSRF token: the value of its cookie, made on its first visit."""
    token: str | None = g.get("minirq_csrf")
    if token is None:
        cookie = request.cookies.get(CSRF_COOKIE, "")
        valid = 20 <= len(cookie) <= 100 and cookie.isascii()
        token = cookie if valid else secrets.token_urlsafe(32)
        g.minirq_csrf = token
    return token


def read_only() -> bool:
    """Whether this request may change nothing: read-only mode, or the caller's level."""
    return settings().read_only or bool(g.get("minirq_read_only"))


# -- Host -------------------------------------------------------------------------------


def host_name(host: str) -> str:
    """The name or address of a ``Host`` header, without its port, lowercase."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host.rstrip(".")


def is_loopback(name: str) -> bool:
    # Browsers resolve localhost and *.localhost to loopback themselves, never via DNS.
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_trusted(host: str, trusted: tuple[str, ...]) -> bool:
    name = host_name(host)
    if not name:
        return False
    if is_loopback(name):
        return True
    for entry in trusted:
        entry = host_name(entry) if not entry.startswith(".") else entry
        if entry == "*" or entry == name:
            return True
        if entry.startswith(".") and (name.endswith(entry) or name == entry[1:]):
            return True
    return False


# -- who is asking ----------------------------------------------------------------------


def _client() -> str:
    return request.remote_addr or "?"


def _refused_login(message: str) -> Response:
    response = current_app.make_response(error_response(401, message))
    response.headers["WWW-Authenticate"] = 'Basic realm="minirq dashboard", charset="UTF-8"'
    return response


def _password_login() -> ResponseReturnValue | None:
    config = settings()
    if config.password is None:
        return None
    throttle = state().logins
    auth = request.authorization
    if auth is None or auth.type != "basic":
        return _refused_login("log in to see the minirq dashboard")
    wait = throttle.wait_s(_client())
    if wait > 0:
        response = current_app.make_response(
            error_response(429, f"too many failed logins: try again in {math.ceil(wait)} s")
        )
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    # Both comparisons always run, so timing tells nothing about which one failed.
    user_ok = hmac.compare_digest((auth.username or "").encode(), config.username.encode())
    password_ok = hmac.compare_digest((auth.password or "").encode(), config.password.encode())
    if user_ok and password_ok:
        throttle.succeeded(_client())
        return None
    throttle.failed(_client())
    return _refused_login("wrong user name or password")


def _framework_login() -> ResponseReturnValue | None:
    authorize = settings().authorize
    assert authorize is not None
    try:
        level = authorize(request.environ)
    except Exception:
        current_app.logger.exception("minirq dashboard: MINIRQ_DASHBOARD_AUTHORIZE failed")
        return error_response(403, "the access check failed: refused")
    if level is None:
        return error_response(403, "you are not allowed to see the minirq dashboard")
    if level not in ACCESS_LEVELS:
        current_app.logger.error(
            "minirq dashboard: MINIRQ_DASHBOARD_AUTHORIZE returned %r, not 'write', 'read' "
            "or None; refusing the request",
            level,
        )
        return error_response(403, "access level unknown: refused")
    g.minirq_read_only = level == "read"
    return None


# -- the guard ----------------------------------------------------------------------------


def _same_origin() -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        return referer is None or urlsplit(referer).netloc == request.host
    return urlsplit(origin).netloc == request.host


def _check_write() -> ResponseReturnValue | None:
    if read_only():
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
        return error_response(403, "missing or wrong CSRF token: reload the page and try again")
    return None


@blueprint.before_request
def _guard() -> ResponseReturnValue | None:
    config = settings()
    if not host_trusted(request.host, config.trusted_hosts):
        return error_response(
            400,
            f"host {host_name(request.host)[:100]!r} is not trusted: add it to "
            "MINIRQ_DASHBOARD_TRUSTED_HOSTS (or --trusted-host) if this dashboard is "
            "served under that name",
        )
    refused = _framework_login() if config.authorize is not None else _password_login()
    if refused is not None:
        return refused
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    return _check_write()


@blueprint.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
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
            path=url_for(".overview"),
        )
    return response


@blueprint.context_processor
def _context() -> dict[str, Any]:
    config = settings()
    return {
        "csrf_token": csrf_token,
        "read_only": read_only(),
        "poll_ms": config.poll_ms,
        "redis_label": config.redis_label,
    }


def safe_next(target: str) -> str | None:
    """``target`` if it is a path inside the dashboard, else None.

    Browsers drop tabs and newlines from URLs and read ``\\`` as ``/``, so ``/\\t/evil``
    or ``/\\evil`` would lead off-site: any whitespace, control character or backslash
    refuses the target outright.
    """
    if not target or any(ord(c) <= 32 or ord(c) == 127 or c == "\\" for c in target):
        return None
    root = url_for(".overview")
    if not target.startswith(root) or target.startswith("//"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
