"""Audit events for tokens from DOT's signals (consents audit themselves in consent.py).

Connected by the audit app (provider/audit/apps.py); lives here because only provider/oidc imports DOT.
"""

from django.dispatch import receiver
from oauth2_provider.signals import app_authorized

from provider.audit import audit


@receiver(app_authorized, dispatch_uid="signet_audit_token_issued")
def token_issued(sender, request, token, **kwargs):
    """DOT sends app_authorized after every successful token response that carries an access token."""
    audit(
        "token.issued",
        actor=token.user_id,  # the id is the sub; loading the user would cost a query per token
        client_id=token.application.client_id if token.application else None,
        grant_type=request.POST.get("grant_type", ""),
        scope=token.scope,
        token_id=token.pk,
    )
