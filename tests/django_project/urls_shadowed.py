"""The mistake the minirq.W001 check catches: the admin's URLs before the dashboard's."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("admin/minirq/", include("minirq.contrib.django.urls")),
]
