from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "keys"
    verbose_name = "Signing keys"

    def ready(self):
        from . import checks  # noqa: F401  (registers the system checks)
