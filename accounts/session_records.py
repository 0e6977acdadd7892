"""Sign-in session records: one per sign-in of a browser, what the account page and the admin list and end.

A record is made at every login (the `user_logged_in` receiver), learns its methods from `sign_in`,
its last-seen time from `SignInSeenMiddleware` (at most once a minute), and the clients that got a
code or tokens in it from provider/oidc. Ending one (`sign_in_end`, from any page) deletes the
browser's Django session and sends `sign_in_ended`: provider/oidc ends the sign-in's tokens and
tells its clients (back-channel logout). accounts knows nothing of tokens.
"""

import contextvars
import time
from datetime import timedelta
from importlib import import_module

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.dispatch import Signal
from django.utils import timezone

from provider.audit import audit
from provider.context import client_ip

from .models import SignInSession
from .sessions import session_sid

# Sent when a sign-in ends, inside the transaction that ended it, with `user`, `sid`, `earlier_sids`
# (the browser's sids before it signed in again), `clients` (the client ids that took part) and
# `reason`. provider/oidc ends what was issued under those sids and tells those clients.
sign_in_ended = Signal()

USER_AGENT_LENGTH = 200
SEEN_KEY = "signet_seen"  # [unix time of the last update, the session key it was made under]
SEEN_INTERVAL_SECONDS = 60

# The sid of the browser session the current request carries: a password change ends every other
# sign-in, and tells the current one's clients, but leaves this browser signed in (Django's rule).
current_sid = contextvars.ContextVar("signet_current_sid", default=None)


def _user_agent(request):
    return request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH]


@transaction.atomic
def sign_in_record(*, request, user, previous_sid=None):
    """Record the sign-in this browser session just completed (its sid is set: accounts/sessions.py).

    `previous_sid`: the sid the browser had before, when the same user signed in again (prompt=login):
    that record gives way to this one, which carries its apps and ends its tokens when it ends.
    """
    sid = session_sid(request)
    if not sid:
        return None
    now = timezone.now()
    earlier, clients = [], []
    if previous_sid and previous_sid != sid:
        replaced = (
            SignInSession.objects.select_for_update()
            .filter(sid=previous_sid, user=user, ended_at__isnull=True)
            .first()
        )
        if replaced is not None:
            earlier, clients = [*replaced.earlier_sids, previous_sid], list(replaced.clients)
            replaced.ended_at, replaced.end_reason = now, "signed_in_again"
            replaced.save(update_fields=["ended_at", "end_reason"])
    record, _created = SignInSession.objects.update_or_create(
        sid=sid,
        defaults={
            "user": user,
            "session_key": request.session.session_key or "",
            "user_agent": _user_agent(request),
            "ip_address": client_ip(request),
            "clients": clients,
            "earlier_sids": earlier,
            "started_at": now,
            "last_seen_at": now,
        },
    )
    request.session[SEEN_KEY] = [int(time.time()), request.session.session_key or ""]
    return record


def sign_in_methods(*, request, methods):
    """Store how this browser session's sign-in authenticated (RFC 8176 values), as its session says."""
    sid = session_sid(request)
    if sid:
        SignInSession.objects.filter(sid=sid).update(methods=list(methods))


def sign_in_seen(request, *, now=None):
    """Move the sign-in's last-seen time (and its session key, which a password change cycles) forward,
    at most once per SEEN_INTERVAL_SECONDS: one UPDATE a minute per browser, none on other requests."""
    sid = session_sid(request)
    if not sid:
        return False
    current = int(now if now is not None else time.time())
    key = request.session.session_key or ""
    seen = request.session.get(SEEN_KEY)
    if (
        isinstance(seen, list)
        and len(seen) == 2
        and seen[1] == key
        and current - seen[0] < SEEN_INTERVAL_SECONDS
    ):
        return False
    SignInSession.objects.filter(sid=sid, ended_at__isnull=True).update(
        last_seen_at=timezone.now(), session_key=key
    )
    request.session[SEEN_KEY] = [current, key]
    return True


class SignInSeenMiddleware:
    """After AuthenticationMiddleware, on pages only (the lean lane never reaches it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        token = current_sid.set(session_sid(request) if hasattr(request, "session") else None)
        try:
            if user is not None and user.is_authenticated:
                sign_in_seen(request)
            return self.get_response(request)
        finally:
            current_sid.reset(token)


def sign_in_client(*, sid, client_id):
    """Note that client `client_id` received a code or tokens in sign-in `sid` (it is told when it ends)."""
    if not sid or not client_id:
        return
    with transaction.atomic():
        record = SignInSession.objects.select_for_update().filter(sid=sid, ended_at__isnull=True).first()
        if record is not None and client_id not in record.clients:
            record.clients = [*record.clients, client_id]
            record.save(update_fields=["clients"])


def expiry_cutoff(now=None):
    """Sign-ins last seen before this have expired with their browser session: Django keeps a session
    SESSION_COOKIE_AGE after its last change, and one is changed at least once a minute while seen."""
    age = settings.SESSION_COOKIE_AGE + SEEN_INTERVAL_SECONDS
    return (now or timezone.now()) - timedelta(seconds=age)


def live_sign_ins(*, user, include_expired=False):
    """The user's sign-ins that have not ended (nor expired, unless asked), most recently seen first."""
    records = SignInSession.objects.filter(user=user, ended_at__isnull=True)
    if not include_expired:
        records = records.filter(last_seen_at__gte=expiry_cutoff())
    return list(records.order_by("-last_seen_at"))


def sign_ins_purge(*, days, now=None):
    """Delete the records of sign-ins that ended, or expired, more than `days` ago; how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=days)
    ended = Q(ended_at__lt=cutoff)
    expired = Q(ended_at__isnull=True, last_seen_at__lt=expiry_cutoff(now=cutoff))
    deleted, _ = SignInSession.objects.filter(ended | expired).delete()
    return deleted


def _session_delete(session_key):
    """Sign the browser out: its Django session goes, whichever engine stores it."""
    if session_key:
        import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key).delete()


@transaction.atomic
def sign_in_end(*, user, sid, reason, actor=None, delete_session=True):
    """End sign-in `sid` of `user`: its record, its browser session (unless the caller is logging that
    browser out itself), and through `sign_in_ended` its tokens and its clients' sessions.

    Returns whether a live record was ended; the signal is sent either way (a sign-in from before
    records existed still has tokens).
    """
    record = SignInSession.objects.select_for_update().filter(user=user, sid=sid).first()
    clients, earlier = [], []
    ended = False
    if record is not None and record.ended_at is None:
        record.ended_at = timezone.now()
        record.end_reason = reason[:32]
        record.save(update_fields=["ended_at", "end_reason"])
        clients, earlier = list(record.clients), list(record.earlier_sids)
        ended = True
        if delete_session:
            _session_delete(record.session_key)
        audit("session.ended", actor=actor or user, reason=reason, user=str(user.pk), clients=clients)
    sign_in_ended.send(
        sender=SignInSession, user=user, sid=sid, earlier_sids=earlier, clients=clients, reason=reason
    )
    return ended


def user_sign_ins_end(*, user, reason, actor=None, keep_sid=None):
    """End every live sign-in of `user`; `keep_sid`'s browser stays signed in, its clients are still told.

    Returns how many ended.
    """
    ended = 0
    # Expired ones too: their apps may still hold tokens of theirs, and are told.
    for record in live_sign_ins(user=user, include_expired=True):
        if keep_sid and record.sid == keep_sid:
            sign_in_clients_release(record=record, reason=reason)
            continue
        ended += sign_in_end(user=user, sid=record.sid, reason=reason, actor=actor)
    return ended


@transaction.atomic
def sign_in_clients_release(*, record, reason):
    """Tell the clients of a sign-in that goes on that theirs ended (their tokens did: a new password)."""
    record = SignInSession.objects.select_for_update().get(pk=record.pk)
    clients, record.clients = list(record.clients), []
    record.save(update_fields=["clients"])
    sign_in_ended.send(
        sender=SignInSession,
        user=record.user,
        sid=record.sid,
        earlier_sids=list(record.earlier_sids),
        clients=clients,
        reason=reason,
    )
