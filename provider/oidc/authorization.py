"""Pure rules of the authorization endpoint (OIDC Core 3.1.2): prompt, max_age, id_token_hint, acr,
the claims request and what a session still owes a request. Used by authorization_request.py and
endpoints/authorize.py (and the hint check by logout.py); no request or session object here."""

import time
from dataclasses import dataclass

from django.conf import settings

from accounts import authn, mfa_policy
from keys import jwt
from provider import untrusted_json

from . import claims as claim_rules

# The acr levels a sign-in can reach (accounts/authn.py: "1" a password, "2" two kinds of factor,
# "phr" a passkey with user verification), weakest first.
ACR_VALUES_SUPPORTED = list(authn.ACR_VALUES)

# What a signed-in session still owes an authorization request (authentication_step).
STEP_UP, ENROL, UNMET = "step_up", "enrol", "unmet"


class InvalidHint(Exception):
    """The id_token_hint is not an ID token this provider issued."""


@dataclass(frozen=True)
class AuthenticationStep:
    """What the session must do before this request gets a code: STEP_UP, ENROL or UNMET."""

    action: str
    acr: str  # the level it is for
    required: bool  # False when only acr_values asked (voluntary: prompt=none goes on without it)


def _now():
    return int(time.time())


def prompt_values(prompt):
    """OIDC Core 3.1.2.1: prompt is a space-delimited, case-sensitive list."""
    if not prompt:
        return set()
    if isinstance(prompt, str):
        return set(prompt.split())
    return set(prompt)


def parse_max_age(value):
    """max_age as seconds, or None when absent. Raises ValueError unless a non-negative integer."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.isdigit() or len(value) > 12:
        raise ValueError("max_age must be a non-negative integer")
    return int(value)


def reauthentication_required(*, prompt, max_age, auth_time, now=None):
    """True when the session's authentication cannot stand for this request.

    OIDC Core 3.1.2.1: prompt=login (and select_account, which Signet answers with the login
    page where another account can be chosen) asks for a fresh login; max_age bounds the age of
    the session's authentication, and max_age=0 means always (the equivalent of prompt=login).
    A session that never recorded its auth_time cannot prove its age either.
    """
    if prompt_values(prompt) & {"login", "select_account"}:
        return True
    if auth_time is None:
        return True
    if max_age is None:
        return False
    if max_age == 0:
        return True
    now = _now() if now is None else now
    return now - auth_time > max_age


def id_token_hint_claims(hint, *, now=None):
    """The claims of an ID token Signet issued: signed by any published key, `iss` ours.

    Expiry is deliberately not checked (OIDC Core 3.1.2.1: the hint may be an expired token).
    An access token (typ at+jwt) is not an ID token and is refused.
    """
    try:
        header = jwt.unverified_header(hint)
        claims = jwt.verify(hint, now=now)
    except jwt.InvalidToken as e:
        raise InvalidHint(str(e)) from e
    if header.get("typ", "JWT") != "JWT":
        raise InvalidHint("not an ID token")
    if claims.get("iss") != settings.OIDC_ISSUER:
        raise InvalidHint("issued by another provider")
    if not isinstance(claims.get("sub"), str) or not claims.get("aud"):
        raise InvalidHint("not an ID token")
    return claims


def acr_requested(*, acr_values, claims_request):
    """OIDC Core 3.1.2.1 / 5.5.1.1: acr is returned when acr_values or the claims parameter ask."""
    if acr_values:
        return True
    return "acr" in claim_rules.requested_claim_names(claims_request, "id_token")


def essential_acr_values(claims_request):
    """OIDC Core 5.5.1.1: the acr values an essential acr request names (None when acr is not essential)."""
    if not isinstance(claims_request, dict) or not isinstance(claims_request.get("id_token"), dict):
        return None
    spec = claims_request["id_token"].get("acr")
    if not isinstance(spec, dict) or not spec.get("essential"):
        return None
    wanted = spec.get("values") if isinstance(spec.get("values"), list) else None
    if wanted is None and "value" in spec:
        wanted = [spec["value"]]
    return wanted


def essential_acr_unmet(claims_request):
    """OIDC Core 5.5.1.1: an essential acr request naming only values no Signet sign-in reaches."""
    wanted = essential_acr_values(claims_request)
    return wanted is not None and not any(value in ACR_VALUES_SUPPORTED for value in wanted)


def _first_reachable(user, have, wanted):
    """(met, the first of `wanted` the user's factors can reach): met when `have` satisfies one already."""
    known = [value for value in wanted if value in ACR_VALUES_SUPPORTED]
    if any(authn.acr_satisfies(have, value) for value in known):
        return True, None
    return False, next((value for value in known if mfa_policy.can_reach(user, value)), None)


def authentication_step(*, user, methods, client, acr_values=None, claims_request=None):
    """What a session signed in with `methods` still owes a request, or None when it may go on.

    In order: the MFA policy (SIGNET_MFA or the client's require_mfa) steps a user with a factor up
    and enrols one without; an essential acr (OIDC Core 5.5.1.1) steps up, or is UNMET when the
    user's factors cannot reach it; acr_values (3.1.2.1, voluntary) step up only when they can.
    """
    have = authn.acr_for(methods)
    if mfa_policy.mfa_required(client) and not authn.acr_satisfies(have, authn.ACR_MFA):
        action = STEP_UP if mfa_policy.can_reach(user, authn.ACR_MFA) else ENROL
        return AuthenticationStep(action, authn.ACR_MFA, required=True)
    essential = essential_acr_values(claims_request)
    if essential:
        met, reachable = _first_reachable(user, have, essential)
        if not met:
            if reachable is None:
                return AuthenticationStep(UNMET, "", required=True)
            return AuthenticationStep(STEP_UP, reachable, required=True)
    voluntary = acr_values.split() if isinstance(acr_values, str) else []
    if voluntary:
        met, reachable = _first_reachable(user, have, voluntary)
        if not met and reachable is not None:
            return AuthenticationStep(STEP_UP, reachable, required=False)
    return None


def parse_claims_request(raw):
    """OIDC Core 5.5: a JSON object whose userinfo / id_token members are objects of objects or nulls."""
    if raw is None or raw == "":
        return None
    try:
        value = untrusted_json.loads(raw) if isinstance(raw, str) else raw
    except ValueError as e:
        raise ValueError("claims is not valid JSON") from e
    if value is None:  # JSON null: no claims request (ConsentForm carries none as an empty value)
        return None
    if not isinstance(value, dict):
        raise ValueError("claims must be a JSON object")
    for target in ("userinfo", "id_token"):
        section = value.get(target)
        if section is None:
            continue
        if not isinstance(section, dict) or not all(
            spec is None or isinstance(spec, dict) for spec in section.values()
        ):
            raise ValueError(f"claims.{target} must map claim names to null or an object")
    return value


def consent_scopes(scopes, claims_request, client):
    """The scopes a user approves: those requested, plus those behind claims asked for by name.

    OIDC Core 5.5 lets a client ask for single claims (say `email`) without their scope; the user
    must see and approve that too, and only scopes the client is allowed count.
    """
    allowed = set(client.scope_list) if client is not None else set()
    return set(scopes) | (claim_rules.scopes_of_requested_claims(claims_request) & allowed)


def requested_sub(claims_request):
    """OIDC Core 5.5.1: a `sub` value asked for in the id_token claims request, if any."""
    if not isinstance(claims_request, dict) or not isinstance(claims_request.get("id_token"), dict):
        return None
    spec = claims_request["id_token"].get("sub")
    if isinstance(spec, dict) and isinstance(spec.get("value"), str):
        return spec["value"]
    return None
