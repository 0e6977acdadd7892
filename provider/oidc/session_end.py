"""What ending a browser session ends with it: the refresh tokens bound to that sign-in.

A refresh-token family without offline_access belongs to the sign-in it came from (its sid), as in
Keycloak and node oidc-provider: when the user signs out (RP-Initiated Logout, the account pages,
the admin), those families are revoked with their access tokens. Families granted offline_access
are meant to outlive the session and stay until revoked or expired.
"""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from accounts.sessions import session_sid

from . import refresh
from .models import TokenFamily


def session_families_revoke(*, user, sid):
    """Revoke the live families of this user's sign-in `sid` that did not get offline_access."""
    families = TokenFamily.objects.filter(user=user, sid=sid, offline=False, revoked_at__isnull=True)
    for family in families.values_list("family", "client__client_id"):
        refresh.family_revoke(
            family=family[0], event="token.session_ended", client_id=family[1], actor=user.pk
        )


@receiver(user_logged_out, dispatch_uid="signet_session_end_tokens")
def _session_ended(sender, request, user, **kwargs):
    # Sent before Django flushes the session, so its sid is still there.
    sid = session_sid(request) if request is not None and hasattr(request, "session") else None
    if user is not None and sid:
        session_families_revoke(user=user, sid=sid)
