from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from .shop import views

urlpatterns = [
    path("admin/minirq/", include("minirq.contrib.django.urls")),
    path("admin/", admin.site.urls),
    path("signup", views.signup),
    path("signup-then-fail", views.signup_then_fail),
]
