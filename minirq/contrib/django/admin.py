"""The admin index links to the dashboard, for staff (see :mod:`.views` for who may act)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import NoReverseMatch, reverse

from .conf import URL_NAME, is_staff
from .models import Dashboard


@admin.register(Dashboard)
class DashboardAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_staff(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        try:
            return HttpResponseRedirect(reverse(URL_NAME, kwargs={"path": ""}))
        except NoReverseMatch:
            return HttpResponse(
                'The minirq dashboard is not mounted: add path("admin/minirq/", '
                'include("minirq.contrib.django.urls")) to your urls.py, before admin.site.urls.',
                status=404,
                content_type="text/plain",
            )
