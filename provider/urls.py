from django.contrib import admin
from django.urls import include, path

from . import branding, health
from .metrics import views as metrics_views

# A database outage answers 503 with a JSON body; any other error keeps Django's plain pages.
handler400 = health.bad_request
handler500 = health.server_error

admin.site.site_header = branding.ADMIN_HEADER
admin.site.site_title = branding.ADMIN_TITLE

urlpatterns = [
    path("", include("provider.oidc.urls")),
    path("accounts/", include("accounts.urls")),
    path("admin/", admin.site.urls),
    path("branding.css", branding.branding_css, name="branding-css"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_views.metrics, name="metrics"),
]
