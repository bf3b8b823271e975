"""The Django app: checks for ``settings.MINIRQ`` and fork-safe database connections."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

from . import db
from .checks import check_dashboard_mount, check_settings


class MinirqConfig(AppConfig):
    name = "minirq.contrib.django"
    label = "minirq"
    verbose_name = "minirq"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        checks.register(check_settings, "minirq")
        checks.register(check_dashboard_mount, "minirq", checks.Tags.urls)
        db.install()
