from django.apps import AppConfig


class SampleApiConfig(AppConfig):
    name = "sample_api"
    verbose_name = "Signet sample API"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI description of the Bearer scheme)
