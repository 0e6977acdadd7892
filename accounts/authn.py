"""How a browser session signed in: the methods it used (RFC 8176 `amr`), the level they reach (`acr`),
and a sign-in half done, between a first factor and a second.

Every way of signing in ends in `sign_in()` (a complete sign-in) or `pending_start()` (a first factor
proven, a second still owed); a second factor then calls `sign_in()` with both methods. provider/oidc
reads `session_methods()` when it issues a code, so the ID token's `amr` and `acr` say what happened.
"""

import time

from django.contrib.auth import get_user_model, login, logout

from . import session_records
from .sessions import session_mark_authenticated

# RFC 8176 2: the values Signet can truthfully claim.
PWD = "pwd"  # a password
OTP = "otp"  # a one-time code (TOTP, or a recovery code)
HWK = "hwk"  # proof of a hardware-bound key (a device-bound passkey or security key)
SWK = "swk"  # proof of a software-held key (a synced passkey, backup eligible)
USER = "user"  # user presence and verification (the authenticator's PIN or biometric)
MFA = "mfa"  # more than one kind of factor
FACTOR_METHODS = (PWD, OTP, HWK, SWK)

# acr values, weakest first (advertised in acr_values_supported in this order).
ACR_ONE_FACTOR = "1"  # one factor: a password alone
ACR_MFA = "2"  # two kinds of factor
ACR_PHISHING_RESISTANT = "phr"  # OpenID EAP ACR Values 1.0: a passkey with user verification
ACR_VALUES = (ACR_ONE_FACTOR, ACR_MFA, ACR_PHISHING_RESISTANT)

METHODS_KEY = "signet_amr"
PENDING_KEY = "signet_pending_signin"
PENDING_SECONDS = 300


def amr_for(methods):
    """The ID token's `amr`: the methods, in a stable order, with `mfa` when two kinds of factor were used."""
    used = [m for m in (PWD, OTP, HWK, SWK, USER) if m in methods]
    factors = {m for m in used if m in FACTOR_METHODS}
    # A key proven with user verification is something you have plus something you are or know.
    if len(factors) > 1 or (factors & {HWK, SWK} and USER in used):
        used.append(MFA)
    return used


def acr_for(methods):
    """The strongest acr the methods reach."""
    if {HWK, SWK} & set(methods) and USER in methods:
        return ACR_PHISHING_RESISTANT
    if MFA in amr_for(methods):
        return ACR_MFA
    return ACR_ONE_FACTOR


def acr_satisfies(have, wanted):
    """Whether a session at acr `have` meets a request for acr `wanted` (a stronger level meets a weaker)."""
    if have not in ACR_VALUES or wanted not in ACR_VALUES:
        return have == wanted
    return ACR_VALUES.index(have) >= ACR_VALUES.index(wanted)


def session_methods(request):
    """The methods this browser session signed in with ([] when it has not, or before this module)."""
    return list(request.session.get(METHODS_KEY, []))


def sign_in(*, request, user, methods, backend="accounts.backends.EmailBackend"):
    """Complete a sign-in: log the user in and record how (auth_time and sid come with Django's login).

    `backend` must be one of AUTHENTICATION_BACKENDS: Django reloads the user through it on every
    request, and a session naming another backend is anonymous.
    """
    pending_clear(request)
    current = getattr(request, "user", None)
    if current is not None and current.is_authenticated and current.pk != user.pk:
        # login() would flush the other user's session without a word: signing them out first ends
        # their sign-in record and its tokens, and tells its clients.
        logout(request)
    login(request, user, backend=backend)
    request.session[METHODS_KEY] = amr_for(methods)
    session_records.sign_in_methods(request=request, methods=request.session[METHODS_KEY])


def step_up(*, request, methods):
    """Add methods to a signed-in session (a second factor asked for later); auth_time moves to now."""
    request.session[METHODS_KEY] = amr_for(set(session_methods(request)) | set(methods))
    session_mark_authenticated(request=request, keep_sid=True)
    session_records.sign_in_methods(request=request, methods=request.session[METHODS_KEY])


def pending_start(*, request, user, methods, now=None):
    """A first factor is proven; the user is not signed in until a second one is."""
    request.session.cycle_key()
    request.session[PENDING_KEY] = {
        "user": str(user.pk),
        "methods": list(methods),
        "started": int(now if now is not None else time.time()),
    }


def pending_user(request, now=None):
    """(user, methods) of the sign-in waiting for a second factor, or None (none, expired, or user gone)."""
    pending = request.session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    if int(now if now is not None else time.time()) - int(pending.get("started", 0)) > PENDING_SECONDS:
        pending_clear(request)
        return None
    user = get_user_model().objects.filter(pk=pending.get("user"), is_active=True).first()
    if user is None:
        pending_clear(request)
        return None
    return user, list(pending.get("methods", []))


def pending_clear(request):
    request.session.pop(PENDING_KEY, None)


def recently_authenticated(request, *, seconds=300, now=None):
    """Whether this session proved who it is within `seconds` (changing factors asks for it)."""
    from .sessions import session_auth_time

    auth_time = session_auth_time(request)
    current = int(now if now is not None else time.time())
    return auth_time is not None and current - auth_time <= seconds
