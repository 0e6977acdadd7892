"""The OpenID endpoints, under DOT's URL namespace so DOT's own reverse() calls resolve."""

from django.urls import path

from keys.views import jwks

from . import discovery, logout, views
from .device_views import DeviceView
from .endpoints.authorize import AuthorizeView
from .endpoints.device_authorization import device_authorization
from .endpoints.introspect import introspect
from .endpoints.register import register, register_client
from .endpoints.revoke import revoke
from .endpoints.token import token
from .endpoints.userinfo import userinfo

app_name = "oauth2_provider"

urlpatterns = [
    path(".well-known/openid-configuration", discovery.discovery, name="oidc-connect-discovery-info"),
    path(".well-known/oauth-authorization-server", discovery.discovery, name="oauth-server-metadata"),
    path("authorize", AuthorizeView.as_view(), name="authorize"),
    path("token", token, name="token"),
    path("device/authorize", device_authorization, name="device-authorization"),
    path("device", DeviceView.as_view(), name="device"),
    path("userinfo", userinfo, name="user-info"),
    path("jwks", jwks, name="jwks-info"),
    path("revoke", revoke, name="revoke-token"),
    path("introspect", introspect, name="introspect"),
    # RFC 7591 / RFC 7592: 404 unless SIGNET_REGISTRATION is token or open.
    path("register", register, name="register"),
    path("register/<str:client_id>", register_client, name="register-client"),
    path("logout", logout.LogoutView.as_view(), name="rp-initiated-logout"),
    # Under accounts/ with the user's other pages; listed before the accounts app's own URLs.
    path("accounts/consents/", views.ConsentListView.as_view(), name="consents"),
]
