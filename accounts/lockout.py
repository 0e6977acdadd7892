"""How failed sign-ins are counted and answered: django-axes' handler and callables (settings.AXES_*).

Three limits, so that nobody can lock an account's owner out from afar and one person behind a shared
address cannot lock out everyone else behind it:

- **pair lock**: SIGNET_LOGIN_FAILURE_LIMIT failures for one account from one address lock that
  account *from that address* for SIGNET_LOGIN_LOCKOUT_MINUTES (django-axes' own lock,
  AXES_LOCKOUT_PARAMETERS). The owner, elsewhere, is not affected.
- **address lock**: SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT failures from one address, whatever the
  accounts, lock that address for the same time. Much higher than the pair limit: a whole office
  behind one NAT shares it.
- **account throttle**: after SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT failures for one account from
  anywhere, each further attempt must wait 1, 2, 4, … seconds after the account's last failure, at
  most SIGNET_LOGIN_ACCOUNT_MAX_DELAY_SECONDS. A delay, never a lock: attempts refused while waiting
  count for nothing, so an attacker cannot lengthen it, and it does not apply from an address the
  account has signed in from before (django-axes' access log), so guessing from afar does not keep
  the owner out.

Addresses are `provider.context.limit_key`: an IPv6 client counts by its /64 (SIGNET_IPV6_PREFIX_LENGTH).

Every count comes from django-axes' attempt records (one database row per account, address and user
agent, with its failure count and last failure time), not from the cache: the counts hold across
worker processes and instances without Redis and through a Redis outage, the admin lists them, and
`axes_reset_username` / `axes_reset_ip` clear them. One aggregate query answers all three limits.
"""

import contextvars
import math
from dataclasses import dataclass
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt, AccessLog
from axes.signals import user_locked_out
from django.conf import settings
from django.db.models import Max, Q, Sum
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy, ngettext_lazy

from provider import metrics
from provider.ratelimit import too_many_requests

from .forms import EmailAuthenticationForm

# Pages that show the lockout as a form error; every other path (the token endpoint's password grant)
# gets the protocol's JSON error.
HTML_VIEWS = {"accounts:login", "admin:login"}

# The time every count and delay is measured with; tests replace it to move time without waiting.
clock = timezone.now

PAIR, ADDRESS, ACCOUNT = "pair", "address", "account"
# Retry-After for a lock only an operator lifts (SIGNET_LOGIN_LOCKOUT_MINUTES=0).
UNTIL_UNLOCKED_RETRY_AFTER = 3600


@dataclass(frozen=True)
class Lock:
    kind: str  # PAIR, ADDRESS or ACCOUNT
    retry_after: int | None  # seconds until it lifts; None: until an operator unlocks


def lockout_username(request, credentials):
    """Emails differ only in case for the same account: count their failures together."""
    username = (credentials or {}).get("username")
    if username is None and request is not None:
        username = request.POST.get("username")
    return username.strip().lower()[:254] if isinstance(username, str) else None


def forget_account_failures(user):
    """A completed password reset proves the owner: drop the account's failures from every address.

    That lifts the account's pair locks and its throttle at once (an address lock stays, as it is
    about the address, though these failures no longer count towards it).
    """
    username = lockout_username(None, {"username": user.get_username()})
    if username:
        AxesProxyHandler.reset_attempts(username=username)


def _seconds_until(moment, now):
    return max(1, math.ceil((moment - now).total_seconds()))


def _throttle_delay(excess):
    """Seconds an attempt waits after the account's last failure, `excess` failures past the limit."""
    return min(settings.SIGNET_LOGIN_ACCOUNT_MAX_DELAY_SECONDS, 2 ** min(excess, 30))


def _signed_in_from(username, address):
    if address is None:
        return False
    return AccessLog.objects.filter(username__iexact=username, ip_address=address).exists()


def find_lock(request, credentials, *, throttle=True):
    """The lock that applies to this sign-in attempt now, or None. The pair lock wins, then the address's."""
    username = get_client_username(request, credentials)
    address = request.axes_ip_address
    now = request.axes_attempt_time
    window = get_cool_off(request)
    pair = Q(username=username, ip_address=address)
    mine = Q(username=username)
    here = Q(ip_address=address)
    rows = AccessAttempt.objects.filter((here | mine) if username is not None else here)
    if window is not None:
        rows = rows.filter(attempt_time__gt=now - window)
    counts = rows.aggregate(
        pair=Sum("failures_since_start", filter=pair, default=0),
        pair_last=Max("attempt_time", filter=pair),
        address=Sum("failures_since_start", filter=here, default=0),
        address_last=Max("attempt_time", filter=here),
        account=Sum("failures_since_start", filter=mine, default=0),
        account_last=Max("attempt_time", filter=mine),
    )

    def hard_lock(kind):
        last = counts[f"{kind}_last"]
        return Lock(kind, None if window is None else _seconds_until(last + window, now))

    if username is not None and counts["pair"] >= get_failure_limit(request, credentials):
        return hard_lock(PAIR)
    address_limit = settings.SIGNET_LOGIN_ADDRESS_FAILURE_LIMIT
    if address_limit and counts["address"] >= address_limit:
        return hard_lock(ADDRESS)
    account_limit = settings.SIGNET_LOGIN_ACCOUNT_FAILURE_LIMIT
    if not throttle or username is None or not account_limit or counts["account"] < account_limit:
        return None
    delay = _throttle_delay(counts["account"] - account_limit)
    waits_until = counts["account_last"] + timedelta(seconds=delay)
    if now >= waits_until or _signed_in_from(username, address):
        return None
    return Lock(ACCOUNT, _seconds_until(waits_until, now))


# The locks that refused a sign-in while answering this request: the password grant authenticates a
# request object DOT builds, not the one the middleware sees, so they reach LockoutMiddleware this way.
_refusals = contextvars.ContextVar("signet_login_refusals", default=None)


def _remember(request, lock, *, refused):
    request.signet_lock = lock
    refusals = _refusals.get()
    if refused and refusals is not None:
        refusals.append(lock)


class LoginLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler (records and the pair lock) plus the address lock and the throttle."""

    def is_locked(self, request, credentials=None):
        request.axes_attempt_time = clock()
        lock = find_lock(request, credentials)
        if lock is not None:
            _remember(request, lock, refused=True)
        return lock is not None

    def user_login_failed(self, sender, credentials, request=None, **kwargs):
        if request is not None:
            request.axes_attempt_time = clock()
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or getattr(request, "signet_lock", None) is not None:
            return
        # django-axes stamps a record it creates with the time of the write (auto_now_add) and one it
        # updates with the attempt's time: give the new one the attempt's time too, so that every
        # count, delay and Retry-After is measured on one clock.
        AccessAttempt.objects.filter(
            username=get_client_username(request, credentials),
            ip_address=request.axes_ip_address,
            user_agent=request.axes_user_agent,
        ).update(attempt_time=request.axes_attempt_time)
        # This failure may have reached a limit: answer it with the lock already. The throttle only
        # delays the next attempt; this one was checked and gets its "wrong password".
        lock = find_lock(request, credentials, throttle=False)
        if lock is None:
            return
        _remember(request, lock, refused=False)
        metrics.lockout(kind=lock.kind)
        if not request.axes_locked_out:
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )


class LockoutMiddleware:
    """Gives a password-grant sign-in refused by a lock the same 429 and message as the login page.

    The password grant authenticates a copy of its request, so django-axes' middleware never sees that
    lock; the login pages it does see are left to it. The attempt that
    reaches a limit had its password checked: it keeps its invalid_grant, the next ones get the 429.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _refusals.set([])
        try:
            response = self.get_response(request)
            refusals = _refusals.get()
            if refusals and settings.AXES_ENABLED and not getattr(request, "axes_locked_out", False):
                request.signet_lock = refusals[-1]
                response = lockout_response(request, response)
            return response
        finally:
            _refusals.reset(token)


# One whole message per limit and unit, so that translators see full sentences and each language
# words its own plurals; the unit is named by the placeholder that selects the plural form.
_MESSAGES = {
    (PAIR, "seconds"): ngettext_lazy(
        "Too many failed sign-in attempts for this account from your network: signing in to it from "
        "here is locked. You can still sign in from elsewhere, or reset your password. "
        "Try again in %(seconds)s second.",
        "Too many failed sign-in attempts for this account from your network: signing in to it from "
        "here is locked. You can still sign in from elsewhere, or reset your password. "
        "Try again in %(seconds)s seconds.",
        "seconds",
    ),
    (PAIR, "minutes"): ngettext_lazy(
        "Too many failed sign-in attempts for this account from your network: signing in to it from "
        "here is locked. You can still sign in from elsewhere, or reset your password. "
        "Try again in %(minutes)s minute.",
        "Too many failed sign-in attempts for this account from your network: signing in to it from "
        "here is locked. You can still sign in from elsewhere, or reset your password. "
        "Try again in %(minutes)s minutes.",
        "minutes",
    ),
    (PAIR, None): gettext_lazy(
        "Too many failed sign-in attempts for this account from your network: signing in to it from "
        "here is locked. You can still sign in from elsewhere, or reset your password. "
        "Ask an administrator to unlock it."
    ),
    (ADDRESS, "seconds"): ngettext_lazy(
        "Too many failed sign-in attempts from your network, across accounts: sign-in from this "
        "network is locked. Try again in %(seconds)s second.",
        "Too many failed sign-in attempts from your network, across accounts: sign-in from this "
        "network is locked. Try again in %(seconds)s seconds.",
        "seconds",
    ),
    (ADDRESS, "minutes"): ngettext_lazy(
        "Too many failed sign-in attempts from your network, across accounts: sign-in from this "
        "network is locked. Try again in %(minutes)s minute.",
        "Too many failed sign-in attempts from your network, across accounts: sign-in from this "
        "network is locked. Try again in %(minutes)s minutes.",
        "minutes",
    ),
    (ADDRESS, None): gettext_lazy(
        "Too many failed sign-in attempts from your network, across accounts: sign-in from this "
        "network is locked. Ask an administrator to unlock it."
    ),
    # The throttle always ends by itself: it has no message for an operator's unlock.
    (ACCOUNT, "seconds"): ngettext_lazy(
        "Too many failed sign-in attempts for this account: it is throttled. "
        "Wait %(seconds)s second and try again.",
        "Too many failed sign-in attempts for this account: it is throttled. "
        "Wait %(seconds)s seconds and try again.",
        "seconds",
    ),
    (ACCOUNT, "minutes"): ngettext_lazy(
        "Too many failed sign-in attempts for this account: it is throttled. "
        "Wait %(minutes)s minute and try again.",
        "Too many failed sign-in attempts for this account: it is throttled. "
        "Wait %(minutes)s minutes and try again.",
        "minutes",
    ),
}


def lockout_message(lock=None):
    """What the person signing in is told, in the active language: which limit they met and when they
    may try again. Pages show it as it is; a protocol error must build it under English (lockout_response)."""
    lock = lock or Lock(PAIR, settings.SIGNET_LOGIN_LOCKOUT_MINUTES * 60 or None)
    if lock.retry_after is None:
        return str(_MESSAGES[lock.kind, None])
    if lock.retry_after < 60:
        unit, count = "seconds", lock.retry_after
    else:
        unit, count = "minutes", math.ceil(lock.retry_after / 60)
    return _MESSAGES[lock.kind, unit] % {unit: count}


def lockout_response(request, original_response=None, credentials=None):
    """429 with the login page and the lock's message, or an RFC 6749 JSON error outside the login pages."""
    lock = getattr(request, "signet_lock", None)
    retry_after = lock.retry_after if lock is not None else settings.SIGNET_LOGIN_LOCKOUT_MINUTES * 60
    retry_after = retry_after or UNTIL_UNLOCKED_RETRY_AFTER
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name in HTML_VIEWS:
        form = EmailAuthenticationForm(request, initial={"username": lockout_username(request, credentials)})
        context = {"form": form, "locked_out": lockout_message(lock), "next": request.POST.get("next", "")}
        response = render(request, "accounts/login.html", context, status=429)
        response["Retry-After"] = str(retry_after)
        response["Cache-Control"] = "no-store"
        return response
    # RFC 6749 5.2 allows only printable ASCII in error_description, and a relying party's logs are read
    # in English: never the page's language, whatever a thread or a caller left active.
    with translation.override("en"):
        description = lockout_message(lock)
    return too_many_requests(retry_after, error="invalid_grant", description=description)
