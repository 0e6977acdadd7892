from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "provider.oidc"
    label = "oidc"
    verbose_name = "OpenID Connect"
