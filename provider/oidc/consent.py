"""Remembered consent: per user, client and scopes (services and selectors in one small module)."""

from django.db import transaction

from provider.audit import audit

from . import claims as claim_rules
from .models import Consent, TokenFamily
from .refresh import family_revoke


def consent_covers(*, user, client, scopes):
    """True when the user already approved at least these scopes for this client."""
    consent = Consent.objects.filter(user=user, client=client).only("scopes").first()
    return consent is not None and consent.covers(scopes)


def consent_needed(client):
    """Whether a user's approval stands behind this client's grants.

    First-party clients (skip_authorization) never ask, and the legacy password grant has no
    consent page: for both, the scopes the operator allows are the whole answer.
    """
    return (
        not client.skip_authorization and client.authorization_grant_type == client.GRANT_AUTHORIZATION_CODE
    )


def scopes_still_granted(*, client, granted):
    """The granted scopes the client is still allowed: an operator's removal ends existing grants' too."""
    allowed = set(client.scope_list)
    return [scope for scope in granted if scope in allowed]


def named_claim_scopes(*, user, client, granted, claims_request):
    """The scopes whose claims a claims request may obtain by name now (OIDC Core 5.5).

    Only scopes the client is still allowed and the user approved. The grant's own scopes were
    approved with it; any other is looked up in the consent on record, and only when a claim
    asked for by name needs it, so a grant without such claims costs no query.
    """
    wanted = claim_rules.scopes_of_requested_claims(claims_request) & set(client.scope_list)
    approved = wanted & set(granted)
    beyond = wanted - approved
    if not beyond:
        return approved
    if not consent_needed(client):
        return wanted
    recorded = Consent.objects.filter(user=user, client=client).values_list("scopes", flat=True).first()
    return approved | (beyond & set((recorded or "").split()))


def consents_of(*, user):
    """The user's remembered consents, newest first, with their clients."""
    return Consent.objects.filter(user=user).select_related("client").order_by("-updated_at")


@transaction.atomic
def consent_record(*, user, client, scopes):
    """Remember an approval, widening (never narrowing) what was approved before."""
    consent, created = Consent.objects.select_for_update().get_or_create(
        user=user, client=client, defaults={"scopes": " ".join(sorted(set(scopes)))}
    )
    widened = not created and not consent.covers(scopes)
    if widened:
        consent.scopes = " ".join(sorted(set(consent.scopes.split()) | set(scopes)))
        consent.save(update_fields=["scopes", "updated_at"])
    if created or widened:
        audit("consent.granted", actor=user.pk, client_id=client.client_id, scopes=consent.scopes)
    return consent


@transaction.atomic
def consent_revoke(*, user, client):
    """Forget the user's consent for a client and end every grant that client holds for the user.

    Its access tokens end with the grants: introspection and userinfo refuse them at once (resource
    servers that verify the JWT offline accept it until it expires, minutes later).
    """
    deleted, _ = Consent.objects.filter(user=user, client=client).delete()
    families = list(
        TokenFamily.objects.filter(user=user, client=client, revoked_at__isnull=True).values_list(
            "family", flat=True
        )
    )
    for family in families:
        family_revoke(family=family, event=None)
    audit("consent.revoked", actor=user.pk, client_id=client.client_id, grants_revoked=len(families))
    return bool(deleted)
