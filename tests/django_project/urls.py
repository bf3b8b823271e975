from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from .shop import views

urlpatterns = [
    path("admin/minirq/", include("minirq.contrib.django.urls")),
    path("admin/", admin.site.urls),
    # Browsers ask every site for one; a 404 would count as an error in the journey.
    path("favicon.ico", views.no_favicon),
    path("signup", views.signup),
    path("signup-then-fail", views.signup_then_fail),
]
