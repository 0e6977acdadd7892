"""Audit events for tokens and consents, from DOT's and Signet's model signals.

Connected by the audit app (provider/audit/apps.py); lives here because only provider/oidc imports DOT.
"""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from oauth2_provider.signals import app_authorized

from provider.audit import audit

from .models import Client, Consent


@receiver(app_authorized, dispatch_uid="signet_audit_token_issued")
def token_issued(sender, request, token, **kwargs):
    """DOT sends app_authorized after every successful token response that carries an access token."""
    audit(
        "token.issued",
        actor=token.user,
        client_id=token.application.client_id if token.application else None,
        grant_type=request.POST.get("grant_type", ""),
        scope=token.scope,
        token_id=token.pk,
    )


@receiver(post_save, sender=Consent, dispatch_uid="signet_audit_consent_saved")
def consent_saved(sender, instance, created, **kwargs):
    audit(
        "consent.granted" if created else "consent.updated",
        actor=instance.user,
        client_id=instance.client.client_id,
        scope=instance.scopes,
    )


@receiver(post_delete, sender=Consent, dispatch_uid="signet_audit_consent_revoked")
def consent_revoked(sender, instance, **kwargs):
    # When a client is deleted its consents go first; read its id without following the relation.
    client_id = Client.objects.filter(pk=instance.client_id).values_list("client_id", flat=True).first()
    audit("consent.revoked", actor=instance.user_id, client_id=client_id, scope=instance.scopes)
