from django.contrib import admin
from django.urls import include, path

from . import health

urlpatterns = [
    path("", include("provider.oidc.urls")),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
]
