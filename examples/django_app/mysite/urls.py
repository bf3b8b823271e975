from django.contrib import admin
from django.urls import include, path
from emails import views

urlpatterns = [
    path("", views.signup, name="signup"),
    path("signups/<int:pk>", views.status, name="status"),
    # The minirq dashboard, for staff, before the admin's own URLs.
    path("admin/minirq/", include("minirq.contrib.django.urls")),
    path("admin/", admin.site.urls),
]
