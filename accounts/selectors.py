from django.apps import apps
from django.conf import settings


def client_display_name(client_id):
    """The registered name of an active client, or None (an unknown id names nobody)."""
    if not client_id:
        return None
    Client = apps.get_model(settings.OAUTH2_PROVIDER_APPLICATION_MODEL)
    return Client.objects.filter(client_id=client_id, is_active=True).values_list("name", flat=True).first()
