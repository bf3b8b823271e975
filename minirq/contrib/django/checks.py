"""``manage.py check`` for ``settings.MINIRQ``."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error

from . import conf


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """One error per bad key of ``settings.MINIRQ`` (id ``minirq.E001``)."""
    return [
        Error(message, hint=hint, obj=f"settings.{conf.SETTING}", id="minirq.E001")
        for message, hint in conf.problems()
    ]
