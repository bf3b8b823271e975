"""``manage.py check`` for ``settings.MINIRQ`` and for the dashboard's place in the URLs."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.checks import CheckMessage, Error
from django.urls import NoReverseMatch, Resolver404, resolve, reverse

from . import conf


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """One error per bad key of ``settings.MINIRQ`` (id ``minirq.E001``)."""
    return [
        Error(message, hint=hint, obj=f"settings.{conf.SETTING}", id="minirq.E001")
        for message, hint in conf.problems()
    ]


def check_dashboard_mount(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """A warning (``minirq.W001``) when another view shadows the mounted dashboard, as
    ``admin.site.urls`` does when it comes first."""
    try:
        url = reverse(conf.URL_NAME, kwargs={"path": ""})
    except NoReverseMatch:
        return []
    try:
        served_by = resolve(url).view_name
    except Resolver404:
        served_by = "no view"
    if served_by == conf.URL_NAME:
        return []
    return [
        checks.Warning(
            f"{url} is served by {served_by}, not by the minirq dashboard",
            hint='put path("admin/minirq/", include("minirq.contrib.django.urls")) before '
            'path("admin/", admin.site.urls) in your urls.py',
            id="minirq.W001",
        )
    ]
