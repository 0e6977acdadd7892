"""What ending a sign-in ends with it: its pending codes and the refresh tokens bound to it.

A refresh-token family without offline_access belongs to the sign-in it came from (its sid), as in
Keycloak and node oidc-provider: when the user signs out (RP-Initiated Logout, the account pages,
the admin), those families are revoked with their access tokens, and the codes that sign-in issued
but no client has exchanged yet are deleted. Every client that took part in the sign-in is then
told by back-channel logout (backchannel.py), through the task queue. Families granted
offline_access are meant to outlive the session and stay until revoked or expired.

A new password ends every sign-in at once, so it ends every family of the user, offline ones
included (RFC 6819 5.2.2.3, RFC 9700 4.14): whoever knew the old password may have obtained them.
"""

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from oauth2_provider.models import get_refresh_token_model

from accounts.session_records import current_sid, sign_in_client, sign_in_ended, user_sign_ins_end
from accounts.signals import password_change_ends, password_changed, user_disabled
from provider.audit import audit

from . import backchannel, refresh
from .models import AuthorizationCode, TokenFamily


def session_codes_revoke(*, user, sid):
    """Delete the codes this sign-in issued that are still waiting to be exchanged."""
    # Deleting waits for an exchange that holds the code's row lock, so the family it starts is
    # committed, and found by session_families_revoke, before the caller goes on to the families.
    deleted, _ = AuthorizationCode.objects.filter(user=user, sid=sid).delete()
    if deleted:
        audit("authorization_code.revoked", actor=user.pk, reason="session_ended", codes=deleted)
    return deleted


def session_families_revoke(*, user, sid):
    """Revoke the live families of this user's sign-in `sid` that did not get offline_access."""
    families = TokenFamily.objects.filter(user=user, sid=sid, offline=False, revoked_at__isnull=True)
    for family in families.values_list("family", "client__client_id"):
        refresh.family_revoke(
            family=family[0], event="token.session_ended", client_id=family[1], actor=user.pk
        )


def user_live_families(*, user):
    """(family, client_id, client name) of every refresh-token family the user holds a live token of."""
    return list(
        get_refresh_token_model()
        .objects.filter(user=user, revoked__isnull=True, token_family__isnull=False)
        .values_list("token_family", "application__client_id", "application__name")
        .distinct()
    )


@transaction.atomic
def user_grants_revoke(*, user, reason):
    """End every grant the user's password obtained: pending codes, then every family with its access tokens.

    One audit event, `token.password_changed`, names how many families of which clients ended.
    """
    AuthorizationCode.objects.filter(user=user).delete()  # codes first, as in session_codes_revoke
    families = user_live_families(user=user)
    for family, client_id, _name in families:
        refresh.family_revoke(family=family, event=None, client_id=client_id, actor=user.pk)
    clients = sorted({client_id for _family, client_id, _name in families})
    audit("token.password_changed", actor=user.pk, reason=reason, families=len(families), clients=clients)
    return len(families)


def session_clients(*, user, sid):
    """Client ids that received a code or tokens in sign-in `sid`, from its codes and grants."""
    codes = AuthorizationCode.objects.filter(user=user, sid=sid)
    families = TokenFamily.objects.filter(user=user, sid=sid)
    return {
        *codes.values_list("application__client_id", flat=True),
        *families.values_list("client__client_id", flat=True),
    }


@receiver(sign_in_ended, dispatch_uid="signet_session_end_tokens")
def _session_ended(sender, user, sid, clients, reason, earlier_sids=(), **kwargs):
    # Every way a sign-in ends comes here (sign-out, the account page, the admin, a new password):
    # the clients are found before the codes go, then told through the task queue, each with the
    # sid its ID token named (an earlier one if the browser signed in again since).
    sids = [sid, *earlier_sids]
    participants = {s: session_clients(user=user, sid=s) for s in sids}
    participants[sid] |= set(clients) - set().union(*participants.values())
    for s in sids:
        session_codes_revoke(user=user, sid=s)
        session_families_revoke(user=user, sid=s)
        backchannel.logout_notify(user=user, sid=s, client_ids=sorted(participants[s]))


@receiver(post_save, sender=AuthorizationCode, dispatch_uid="signet_session_client_code")
def _code_issued(sender, instance, created, **kwargs):
    # At /authorize, off the token endpoint's path: every grant with a sid starts from a code.
    if created and instance.sid:
        sign_in_client(sid=instance.sid, client_id=instance.application.client_id)


@receiver(password_changed, dispatch_uid="signet_password_changed_tokens")
def _password_changed(sender, user, reason, **kwargs):
    user_grants_revoke(user=user, reason=reason)
    # Then every sign-in ends and its clients are told; the browser that chose the new password
    # stays signed in (Django keeps it), but its clients' tokens ended above, so they are told too.
    user_sign_ins_end(user=user, reason=f"password_{reason}", keep_sid=current_sid.get())


@receiver(user_disabled, dispatch_uid="signet_user_disabled_tokens")
def _user_disabled(sender, user, **kwargs):
    user_grants_revoke(user=user, reason="disabled")
    user_sign_ins_end(user=user, reason="disabled")


@receiver(password_change_ends, dispatch_uid="signet_password_change_ends_clients")
def _clients_a_password_change_ends(sender, user, **kwargs):
    return sorted({name for _family, _client_id, name in user_live_families(user=user)})
