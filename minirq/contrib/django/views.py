"""The minirq dashboard inside Django: Django decides who comes in, Flask serves the pages.

Anonymous visitors go to the admin's login page; logged-in users who are not active staff
get 403. Staff see the dashboard; actions (requeue, cancel, delete, pause, ...) also need
the ``minirq.manage_jobs`` permission (superusers have it). The dashboard keeps its own
CSRF and Origin checks for those actions.
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Iterable
from http.cookies import SimpleCookie
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import csrf_exempt
from flask import Flask

from minirq_dashboard import create_app

from . import conf
from .conf import is_staff
from .queues import get_connection

ACCESS_KEY = "minirq.contrib.django.access"
WRITE_PERMISSION = "minirq.manage_jobs"
_READ_METHODS = ("GET", "HEAD", "OPTIONS")
# Set by the WSGI server itself; never copied from the dashboard's response.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade"}


def access_level(request: HttpRequest) -> str | None:
    """``"write"``, ``"read"`` or ``None`` for the user of ``request``."""
    user = request.user
    if not is_staff(user):
        return None
    return "write" if user.has_perm(WRITE_PERMISSION) else "read"  # type: ignore[union-attr]


def _authorize(environ: dict[str, Any]) -> str | None:
    # Only this module's view reaches the app, and it sets the level after its checks.
    level = environ.get(ACCESS_KEY)
    return level if level in ("read", "write") else None


@functools.cache
def dashboard_app() -> Flask:
    """The dashboard's Flask app for this project's Redis and prefix (one per process)."""
    return create_app(
        {
            "MINIRQ_REDIS_CONNECTION": get_connection(),
            "MINIRQ_PREFIX": conf.load().prefix,
            "MINIRQ_SERIALIZER": conf.serializer_name(),
            "MINIRQ_DASHBOARD_AUTHORIZE": _authorize,
            # The view hands over only a Host that Django's ALLOWED_HOSTS accepted.
            "MINIRQ_DASHBOARD_TRUSTED_HOSTS": "*",
        }
    )


def _wsgi_path(text: str) -> str:
    # WSGI carries paths as bytes decoded as latin-1 (PEP 3333).
    return text.encode("utf-8").decode("latin-1")


def wsgi_environ(request: HttpRequest, path: str, level: str) -> dict[str, Any]:
    """A WSGI environ for the dashboard: the mount point as SCRIPT_NAME, ``path`` below."""
    body = request.body
    environ = {key: value for key, value in request.META.items() if key.isupper()}
    mount = request.path[: len(request.path) - len(path)].rstrip("/")
    environ.update(
        {
            "REQUEST_METHOD": request.method or "GET",
            # Checked against ALLOWED_HOSTS (DisallowedHost, a 400, otherwise).
            "HTTP_HOST": request.get_host(),
            "SCRIPT_NAME": _wsgi_path(mount),
            "PATH_INFO": _wsgi_path("/" + path),
            "QUERY_STRING": request.META.get("QUERY_STRING", ""),
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": request.scheme or "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
            ACCESS_KEY: level,
        }
    )
    return environ


def _django_response(
    status: str, headers: list[tuple[str, str]], body: Iterable[bytes]
) -> HttpResponse:
    response = HttpResponse(b"".join(body), status=int(status.split(" ", 1)[0]))
    response.headers.pop("Content-Type", None)
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            response.cookies.load(SimpleCookie(value))
        elif lowered not in _HOP_BY_HOP:
            response.headers[name] = value
    return response


@csrf_exempt
def dashboard(request: HttpRequest, path: str = "") -> HttpResponse:
    """Serve the dashboard page or API call at ``path`` below the mount point."""
    level = access_level(request)
    if level is None:
        if not request.user.is_authenticated:
            try:
                login_url = reverse("admin:login")
            except NoReverseMatch:
                login_url = None
            return redirect_to_login(request.get_full_path(), login_url)
        return HttpResponseForbidden("the minirq dashboard is for active staff members only")
    if level == "read" and request.method not in _READ_METHODS:
        # Also refused by the dashboard itself; checked here first, where the user is known.
        return HttpResponseForbidden(
            f"actions on minirq jobs need the {WRITE_PERMISSION} permission"
        )
    captured: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured.update(status=status, headers=headers)
        return lambda data: None

    result = dashboard_app()(wsgi_environ(request, path, level), start_response)
    try:
        body = list(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return _django_response(captured["status"], captured["headers"], body)
