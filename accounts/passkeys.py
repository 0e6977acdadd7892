"""Passkeys (WebAuthn): registering a credential, and proving one to sign in alone or as a second factor.

py_webauthn checks each ceremony (challenge, origin, RP ID hash, flags, signature). This module keeps
the challenges (in the session: one per purpose, single-use, CHALLENGE_SECONDS), the credentials and
the rules around them: the counter, the backup flags, and what a passkey proves to accounts/authn.py.
The relying party is the issuer: RP ID its host, the only accepted origin its scheme://host[:port].
"""

import logging
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    options_to_json_dict,
    parse_client_data_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from provider import metrics
from provider.audit import audit

from . import authn, factor_notices, mfa_policy, recovery_codes
from .models import Passkey
from .passkey_errors import PasskeyError

log = logging.getLogger("signet.accounts")

REGISTER, SIGN_IN, VERIFY = "register", "sign_in", "verify"
CHALLENGE_KEY = "signet_passkey_challenges"
CHALLENGE_SECONDS = 300
NAME_MAX_LENGTH = Passkey._meta.get_field("name").max_length
CREDENTIAL_ID_MAX_LENGTH = Passkey._meta.get_field("credential_id").max_length
# A session must name a backend listed in AUTHENTICATION_BACKENDS, or the next request finds nobody
# signed in (django.contrib.auth.get_user); said here as well as in authn.sign_in's default.
SESSION_BACKEND = "accounts.backends.EmailBackend"
KNOWN_TRANSPORTS = {t.value for t in AuthenticatorTransport}
# A credential id as WebAuthn's JSON carries it; anything else is refused before it reaches a query.
BASE64URL = re.compile(r"[A-Za-z0-9_-]+")
# What a hostile or broken response can make py_webauthn's parsers raise besides its own exceptions
# (binascii.Error is a ValueError; CBOR and struct parsing raise the others).
_BAD_INPUT = (WebAuthnException, ValueError, TypeError, LookupError, OverflowError, AttributeError)

# The clock challenges expire by; tests replace it to move time without waiting.
clock = time.time


@dataclass(frozen=True)
class PasskeyUse:
    """A verified assertion: the passkey (counters updated) and the RFC 8176 methods it proves."""

    passkey: Passkey
    user_verified: bool
    methods: list


def relying_party():
    """(RP ID, origin): the issuer's host, and its scheme://host[:port], the only origin accepted."""
    issuer = urlsplit(settings.OIDC_ISSUER)
    # A browser's origin leaves out the scheme's default port (HTML's origin serialisation).
    default = {"https": 443, "http": 80}.get(issuer.scheme)
    port = f":{issuer.port}" if issuer.port and issuer.port != default else ""
    return issuer.hostname, f"{issuer.scheme}://{issuer.hostname}{port}"


def site_name():
    return getattr(settings, "SIGNET_SITE_NAME", "") or "Signet"


def user_handle(user):
    """The WebAuthn user.id: the user's UUID bytes (the OIDC `sub`), never the email (WebAuthn 14.6.1)."""
    return user.pk.bytes


# --- challenges ----------------------------------------------------------------------------


def _challenge_issue(request, *, purpose, user=None, require_uv=False):
    challenge = secrets.token_bytes(32)
    challenges = dict(request.session.get(CHALLENGE_KEY) or {})
    challenges[purpose] = {
        "challenge": bytes_to_base64url(challenge),
        "user": str(user.pk) if user is not None else None,
        "require_uv": bool(require_uv),
        "expires": int(clock()) + CHALLENGE_SECONDS,
    }
    request.session[CHALLENGE_KEY] = challenges
    return challenge


def _challenge_take(request, *, purpose, user=None):
    """(challenge, user verification required) issued for `purpose` (and user), removed: a response
    is checked against it once."""
    challenges = dict(request.session.get(CHALLENGE_KEY) or {})
    issued = challenges.pop(purpose, None)
    request.session[CHALLENGE_KEY] = challenges
    expected_user = str(user.pk) if user is not None else None
    if (
        not isinstance(issued, dict)
        or issued.get("expires", 0) < clock()
        or issued.get("user") != expected_user
    ):
        raise PasskeyError("challenge_expired", _("This request has expired. Please try again."))
    # Two requests carrying one session can both read it before either saves it: the cache's atomic
    # add lets only one of them have the challenge (None, a cache outage, lets the session decide).
    if cache.add(f"signet:passkey-challenge:{issued['challenge']}", 1, CHALLENGE_SECONDS) is False:
        raise PasskeyError("challenge_expired", _("This request has expired. Please try again."))
    return base64url_to_bytes(issued["challenge"]), bool(issued.get("require_uv"))


# --- registration --------------------------------------------------------------------------


def _descriptor(passkey):
    transports = [AuthenticatorTransport(t) for t in passkey.transports if t in KNOWN_TRANSPORTS]
    return PublicKeyCredentialDescriptor(id=base64url_to_bytes(passkey.credential_id), transports=transports)


def passkey_registration_options(*, request, user):
    """PublicKeyCredentialCreationOptions (JSON) for a new discoverable passkey; its challenge kept."""
    rp_id, _origin = relying_party()
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=site_name(),
        user_id=user_handle(user),
        user_name=user.email,
        user_display_name=user.full_name or user.email,
        challenge=_challenge_issue(request, purpose=REGISTER, user=user),
        timeout=CHALLENGE_SECONDS * 1000,
        # A discoverable credential signs in without an email typed first.
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        # WebAuthn 5.4: the same authenticator is not registered twice.
        exclude_credentials=[_descriptor(p) for p in user.passkeys.all()],
    )
    return options_to_json_dict(options)


def _check_origin(credential):
    """WebAuthn 7.1 step 9 / 7.2 step 13, checked first so that a response made for another site gets
    an answer saying so (py_webauthn checks it again)."""
    response = credential.get("response") if isinstance(credential, dict) else None
    client_data = response.get("clientDataJSON") if isinstance(response, dict) else None
    if not isinstance(client_data, str):
        raise PasskeyError("invalid_response", _("The passkey's answer could not be read."))
    try:
        origin = parse_client_data_json(base64url_to_bytes(client_data)).origin
    except _BAD_INPUT as e:
        raise PasskeyError("invalid_response", _("The passkey's answer could not be read.")) from e
    _rp_id, expected = relying_party()
    if origin != expected:
        raise PasskeyError(
            "wrong_origin",
            _("This passkey answer was made for another site, not this one. Sign in on %(origin)s.")
            % {"origin": expected},
        )


def _clean_name(name):
    # Printable characters only: PostgreSQL refuses a NUL in text, and a name is shown on pages and mail.
    printable = "".join(c if c.isprintable() else " " for c in str(name or ""))
    return " ".join(printable.split())[:NAME_MAX_LENGTH] or _("Passkey")


def _transports(credential):
    response = credential.get("response")
    values = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(values, list):
        return []
    return sorted({t for t in values if isinstance(t, str) and t in KNOWN_TRANSPORTS})


def passkey_register(*, request, user, credential, name=""):
    """Verify a registration response to this session's challenge and store the passkey."""
    challenge, _require_uv = _challenge_take(request, purpose=REGISTER, user=user)
    _check_origin(credential)
    rp_id, origin = relying_party()
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id, expected_origin=origin
        )
    except _BAD_INPUT as e:
        log.info("passkey registration refused: %s", e)
        raise PasskeyError(
            "invalid_response", _("The passkey could not be verified: %(reason)s") % {"reason": e}
        ) from e
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                name=_clean_name(name),
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=_transports(credential),
                aaguid=verified.aaguid,
                backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
                backed_up=verified.credential_backed_up,
            )
    except IntegrityError as e:
        raise PasskeyError("already_registered", _("This passkey is already registered.")) from e
    audit("passkey.added", actor=user, passkey=passkey.pk, name=passkey.name, synced=passkey.backup_eligible)
    _notify(user, factor_notices.ADDED, passkey)
    return passkey


def passkey_rename(*, user, passkey_id, name):
    passkey = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if passkey is None:
        raise PasskeyError("not_found", _("No such passkey."), status=404)
    passkey.name = _clean_name(name)
    passkey.save(update_fields=["name"])
    return passkey


def passkey_remove(*, user, passkey_id):
    """Delete one of the user's passkeys; it no longer signs anyone in."""
    passkey = Passkey.objects.filter(user=user, pk=passkey_id).first()
    if passkey is None:
        raise PasskeyError("not_found", _("No such passkey."), status=404)
    passkey.delete()
    audit("passkey.removed", actor=user, passkey=passkey_id, name=passkey.name)
    _notify(user, factor_notices.REMOVED, passkey)
    if not mfa_policy.has_second_factor(user):
        # As when the authenticator app goes: recovery codes stand in for a lost factor, not for none.
        recovery_codes.recovery_codes_delete(user=user)


def _notify(user, event, passkey):
    """Mail the owner that a passkey was added or removed (factor_notices): if not them, they learn it."""
    label = _("passkey “%(name)s”") % {"name": passkey.name}
    factor_notices.factor_notify(user=user, event=event, factor=label)


# --- authentication ------------------------------------------------------------------------


def passkey_authentication_options(*, request, purpose, user=None, require_uv=False):
    """PublicKeyCredentialRequestOptions (JSON). SIGN_IN: any discoverable passkey, user verification
    required; VERIFY: one of `user`'s passkeys, user verification preferred unless `require_uv` (a
    relying party asking for acr "phr", which only a verified passkey reaches)."""
    require_uv = require_uv or purpose == SIGN_IN
    allow = []
    if user is not None:
        allow = [_descriptor(p) for p in user.passkeys.all()]
        if not allow:
            raise PasskeyError("no_passkeys", _("You have no passkey registered."))
    rp_id, _origin = relying_party()
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=_challenge_issue(request, purpose=purpose, user=user, require_uv=require_uv),
        timeout=CHALLENGE_SECONDS * 1000,
        allow_credentials=allow,
        user_verification=(
            UserVerificationRequirement.REQUIRED if require_uv else UserVerificationRequirement.PREFERRED
        ),
    )
    return options_to_json_dict(options)


def counter_went_back(stored, presented):
    """WebAuthn 7.2 step 21: a counter that is in use must grow; one that did not may be a cloned key."""
    return (stored > 0 or presented > 0) and presented <= stored


def _methods(passkey, user_verified):
    # RFC 8176: a synced passkey is a software-held key; a device-bound one a hardware-bound key.
    methods = [authn.SWK if passkey.backup_eligible else authn.HWK]
    return methods + [authn.USER] if user_verified else methods


def _credential_id(credential):
    cred_id = credential.get("id") if isinstance(credential, dict) else None
    if (
        not isinstance(cred_id, str)
        or len(cred_id) > CREDENTIAL_ID_MAX_LENGTH
        or not BASE64URL.fullmatch(cred_id)
    ):
        raise PasskeyError("invalid_response", _("The passkey's answer could not be read."))
    return cred_id


def _user_handle_matches(credential, passkey):
    """A discoverable credential names its user: it must be the passkey's (WebAuthn 7.2 step 6)."""
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    return handle in (None, "") or handle == bytes_to_base64url(user_handle(passkey.user))


def passkey_authenticate(*, request, purpose, credential, user=None):
    """Verify an assertion to this session's challenge for `purpose`; PasskeyUse, or PasskeyError.

    With `user` only that user's passkeys count. Counter and backup state are stored at each use;
    a counter that went back is refused and audited as a suspected clone.
    """
    challenge, require_uv = _challenge_take(request, purpose=purpose, user=user)
    try:
        use = _assertion_verify(
            challenge=challenge, purpose=purpose, credential=credential, user=user, require_uv=require_uv
        )
    except PasskeyError as e:
        # A refused assertion proves no kind of key: it is counted as the passkey's own kind when the
        # passkey was found, else as hwk. Stored as a row only when a user is known (no spam rows).
        metrics.sign_in(method=e.method or authn.HWK, outcome=metrics.FAILURE)
        audit("passkey.failed", actor=user, store=user is not None, error=e.error, purpose=purpose)
        raise
    metrics.sign_in(method=use.methods[0], outcome=metrics.SUCCESS)
    return use


def _assertion_verify(*, challenge, purpose, credential, user, require_uv):
    cred_id = _credential_id(credential)
    _check_origin(credential)
    rp_id, origin = relying_party()
    unknown = PasskeyError("unknown_passkey", _("This passkey is not registered here."))
    suspected = None
    with transaction.atomic():
        rows = Passkey.objects.select_for_update().select_related("user").filter(credential_id=cred_id)
        passkey = (rows.filter(user=user) if user is not None else rows).first()
        if passkey is None or not passkey.user.is_active or not _user_handle_matches(credential, passkey):
            raise unknown
        kind = _methods(passkey, False)[0]
        try:
            # The counter is compared below, after the signature: only a genuine assertion is audited.
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=challenge,
                expected_rp_id=rp_id,
                expected_origin=origin,
                credential_public_key=bytes(passkey.public_key),
                credential_current_sign_count=0,
                require_user_verification=require_uv,
            )
        except _BAD_INPUT as e:
            log.info("passkey assertion refused: %s", e)
            raise PasskeyError(
                "invalid_response",
                _("The passkey could not be verified: %(reason)s") % {"reason": e},
                method=kind,
            ) from e
        if counter_went_back(passkey.sign_count, verified.new_sign_count):
            suspected = (passkey.sign_count, verified.new_sign_count)
        else:
            passkey.sign_count = verified.new_sign_count
            passkey.backup_eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
            passkey.backed_up = verified.credential_backed_up
            passkey.last_used_at = timezone.now()
            passkey.save(update_fields=["sign_count", "backup_eligible", "backed_up", "last_used_at"])
    if suspected is not None:
        # Outside the transaction above, so nothing rolls this row back.
        audit(
            "passkey.clone_suspected",
            actor=passkey.user,
            passkey=passkey.pk,
            stored_count=suspected[0],
            presented_count=suspected[1],
        )
        raise PasskeyError(
            "clone_suspected",
            _("This passkey was refused: its signature counter went backwards, as a copied key's would."),
            status=403,
            method=kind,
        )
    audit("passkey.used", actor=passkey.user, passkey=passkey.pk, purpose=purpose)
    return PasskeyUse(passkey, verified.user_verified, _methods(passkey, verified.user_verified))


# --- what a passkey does to the session ------------------------------------------------------


def passkey_sign_in(*, request, credential):
    """Sign in with a passkey alone (discoverable, user verified). Failures lock nobody: no user is known."""
    use = passkey_authenticate(request=request, purpose=SIGN_IN, credential=credential)
    authn.sign_in(request=request, user=use.passkey.user, methods=use.methods, backend=SESSION_BACKEND)
    return use


def passkey_verify(*, request, credential):
    """A passkey as the second factor of the pending sign-in, or a step-up of the signed-in session."""
    pending = authn.pending_user(request)
    if pending is not None:
        user, methods = pending
        _refuse_if_locked(request, user)
        try:
            use = passkey_authenticate(request=request, purpose=VERIFY, credential=credential, user=user)
        except PasskeyError as e:
            if e.error != "challenge_expired":
                _count_failure(request, user)
            raise
        authn.sign_in(request=request, user=user, methods=[*methods, *use.methods], backend=SESSION_BACKEND)
        return use
    if request.user.is_authenticated:
        use = passkey_authenticate(request=request, purpose=VERIFY, credential=credential, user=request.user)
        authn.step_up(request=request, methods=use.methods)
        return use
    raise PasskeyError("no_sign_in", _("Your sign-in has expired. Please start again."), status=403)


def verify_options_user(request):
    """Whose passkeys a VERIFY ceremony may use: the pending sign-in's user, else the signed-in user."""
    pending = authn.pending_user(request)
    if pending is not None:
        return pending[0]
    if request.user.is_authenticated:
        return request.user
    raise PasskeyError("no_sign_in", _("Your sign-in has expired. Please start again."), status=403)


# --- lockout (accounts/lockout.py): a second factor's failures count for the user it is owed by ---


def _credentials(user):
    return {"username": user.get_username()}


def _refuse_if_locked(request, user):
    """The pair, address and account limits of a password sign-in apply to the factor owed after it."""
    if not settings.AXES_ENABLED:
        return
    from .lockout import clock, find_lock, lockout_message

    # find_lock, not django-axes' is_locked: that one queues the token endpoint's JSON answer.
    AxesProxyHandler.update_request(request)
    request.axes_attempt_time = clock()
    lock = find_lock(request, _credentials(user))
    if lock is not None:
        raise PasskeyError("locked_out", lockout_message(lock), status=429)


def _count_failure(request, user):
    if not settings.AXES_ENABLED:
        return
    # django-axes' handler directly, not Django's user_login_failed, whose receivers say "password".
    AxesProxyHandler.user_login_failed(sender=__name__, credentials=_credentials(user), request=request)
    if getattr(request, "axes_locked_out", False):
        # django-axes' middleware would swap this JSON answer for the token endpoint's error shape.
        request.axes_locked_out = False
