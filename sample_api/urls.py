from django.urls import path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularJSONAPIView

from . import backchannel, resource_metadata, rp_views, views

urlpatterns = [
    # The resource API
    path("hello/", views.HelloView.as_view(), name="hello"),
    path("me/", views.MeView.as_view(), name="me"),
    path("notes/", views.NoteCreateView.as_view(), name="notes"),
    path("admin-only/", views.AdminOnlyView.as_view(), name="admin-only"),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("healthz", views.healthz, name="healthz"),
    # RFC 9728 3.1: at the root, or followed by the resource identifier's path when it has one.
    path(
        ".well-known/oauth-protected-resource",
        resource_metadata.protected_resource_metadata,
        name="protected-resource-metadata",
    ),
    path(".well-known/oauth-protected-resource/<path:suffix>", resource_metadata.protected_resource_metadata),
    # The sample browser login (a relying party of the same provider)
    path("", RedirectView.as_view(pattern_name="rp-home"), name="root"),
    path("rp/", rp_views.home, name="rp-home"),
    path("rp/login/", rp_views.login, name="rp-login"),
    path("rp/callback/", rp_views.callback, name="rp-callback"),
    path("rp/logout/", rp_views.logout, name="rp-logout"),
    path("rp/backchannel-logout", backchannel.logout, name="rp-backchannel-logout"),
]
