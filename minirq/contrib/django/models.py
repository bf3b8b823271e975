"""No table: one unmanaged model that carries the dashboard's two permissions."""

from __future__ import annotations

from django.db import models


class Dashboard(models.Model):
    """Staff see the dashboard; ``minirq.manage_jobs`` may also requeue, cancel, delete."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("manage_jobs", "Can requeue, cancel and delete minirq jobs, pause queues"),
        ]
        verbose_name = "dashboard"
        verbose_name_plural = "dashboard"
