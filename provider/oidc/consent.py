"""Remembered consent: per user, client and scopes (services and selectors in one small module)."""

from django.db import transaction

from .models import Consent


def consent_covers(*, user, client, scopes):
    """True when the user already approved at least these scopes for this client."""
    consent = Consent.objects.filter(user=user, client=client).only("scopes").first()
    return consent is not None and consent.covers(scopes)


@transaction.atomic
def consent_record(*, user, client, scopes):
    """Remember an approval, widening (never narrowing) what was approved before."""
    consent, created = Consent.objects.select_for_update().get_or_create(
        user=user, client=client, defaults={"scopes": " ".join(sorted(set(scopes)))}
    )
    if not created and not consent.covers(scopes):
        consent.scopes = " ".join(sorted(set(consent.scopes.split()) | set(scopes)))
        consent.save(update_fields=["scopes", "updated_at"])
    return consent
