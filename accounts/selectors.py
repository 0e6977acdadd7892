from django.apps import apps
from django.conf import settings

from . import signals


def client_display_name(client_id):
    """The registered name of an active client, or None (an unknown id names nobody)."""
    if not client_id:
        return None
    Client = apps.get_model(settings.OAUTH2_PROVIDER_APPLICATION_MODEL)
    return Client.objects.filter(client_id=client_id, is_active=True).values_list("name", flat=True).first()


def apps_a_password_change_ends(*, user):
    """Names of the apps the user would have to sign in to again after a new password, sorted."""
    names = set()
    for _receiver, answer in signals.password_change_ends.send(sender=user.__class__, user=user):
        names.update(answer or ())
    return sorted(names, key=str.casefold)
