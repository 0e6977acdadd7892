"""The OpenID endpoints, under DOT's URL namespace so DOT's own reverse() calls resolve."""

from django.urls import path

from keys.views import jwks

from . import discovery, endpoints, logout, views

app_name = "oauth2_provider"

urlpatterns = [
    path(".well-known/openid-configuration", discovery.discovery, name="oidc-connect-discovery-info"),
    path(".well-known/oauth-authorization-server", discovery.discovery, name="oauth-server-metadata"),
    path("authorize", views.AuthorizeView.as_view(), name="authorize"),
    path("token", endpoints.TokenView.as_view(), name="token"),
    path("userinfo", views.UserInfoView.as_view(), name="user-info"),
    path("jwks", jwks, name="jwks-info"),
    path("revoke", endpoints.RevokeView.as_view(), name="revoke-token"),
    path("introspect", endpoints.IntrospectView.as_view(), name="introspect"),
    path("logout", logout.LogoutView.as_view(), name="rp-initiated-logout"),
    # Under accounts/ with the user's other pages; listed before the accounts app's own URLs.
    path("accounts/consents/", views.ConsentListView.as_view(), name="consents"),
]
