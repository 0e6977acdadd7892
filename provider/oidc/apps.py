from django.apps import AppConfig


class OidcConfig(AppConfig):
    name = "provider.oidc"
    label = "oidc"
    verbose_name = "OpenID Connect"

    def ready(self):
        from . import session_end  # noqa: F401  (signing out revokes the session's refresh tokens)
