from django.apps import AppConfig


class SignetConfig(AppConfig):
    """The project itself as an app, so its deployment checks register at start-up."""

    name = "provider"
    label = "signet"
    verbose_name = "Signet"

    def ready(self):
        from . import checks  # noqa: F401
