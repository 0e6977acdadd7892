from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "provider.audit"
    label = "audit"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from provider.oidc import audit_events  # noqa: F401  (token events)

        from . import receivers  # noqa: F401  (login, logout and lockout events)
