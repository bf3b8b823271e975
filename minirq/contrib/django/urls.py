"""``path("admin/minirq/", include("minirq.contrib.django.urls"))``, before ``admin.site.urls``."""

from __future__ import annotations

from django.urls import path, re_path
from django.views.generic import RedirectView

from .views import dashboard

app_name = "minirq"

urlpatterns = [
    # The admin index links to the Dashboard model's changelist, which lives here too.
    path(
        "dashboard/",
        RedirectView.as_view(pattern_name="minirq:dashboard", query_string=False),
        {"path": ""},
    ),
    re_path(r"^(?P<path>.*)$", dashboard, name="dashboard"),
]
