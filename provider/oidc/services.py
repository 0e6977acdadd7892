"""Client registration by operators."""

import secrets

from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from .models import PRIVATE_KEY_JWT, Client
from .scopes import default_scopes, scope_problems

MIN_SECRET_LENGTH = 32
GRANTS = {
    "authorization-code": Client.GRANT_AUTHORIZATION_CODE,
    "client-credentials": Client.GRANT_CLIENT_CREDENTIALS,
    "password": Client.GRANT_PASSWORD,
    # RFC 8628: a device without a browser (a TV, a CLI) signs its user in on another screen.
    "device-code": Client.GRANT_DEVICE_CODE,
}


def generate_secret():
    return secrets.token_urlsafe(48)  # 384 bits


@transaction.atomic
def client_create(
    *,
    name,
    client_type,
    grant,
    redirect_uris=(),
    post_logout_redirect_uris=(),
    scopes=None,
    audiences=(),
    client_id=None,
    secret=None,
    skip_consent=False,
    backchannel_logout_uri="",
    backchannel_logout_session_required=False,
    access_token_lifetime=None,
    id_token_lifetime=None,
    refresh_token_lifetime=None,
    identity_claims=False,
    auth_method="",
    jwks=None,
    jwks_uri="",
    signing_alg="",
    id_token_signing_alg=None,
    groups_claim=False,
    allowed_groups=(),
):
    """Register a client. Returns (client, plaintext secret or None): the secret is shown once.

    Lifetimes are seconds overriding the SIGNET_*_LIFETIME defaults (None: the default);
    `identity_claims` adds email, given_name and family_name to its access tokens when granted,
    `groups_claim` the user's groups; `allowed_groups` (auth.Group names) restricts it to their members.
    `backchannel_logout_uri` receives logout tokens when a sign-in the client took part in ends.
    `grant="password"` is the legacy direct-login grant (RFC 9700 2.4): only such a client may use it.
    `auth_method="private_key_jwt"` (OIDC Core 9) authenticates with `jwks` or `jwks_uri`, never a secret.
    `id_token_signing_alg` signs its ID, access and logout tokens (RS256 if None): one of SIGNET_SIGNING_ALGS.
    """
    if client_type not in (Client.CLIENT_CONFIDENTIAL, Client.CLIENT_PUBLIC):
        raise ValidationError({"type": "must be confidential or public"})
    if grant not in GRANTS:
        raise ValidationError({"grant": f"must be one of {', '.join(GRANTS)}"})
    if grant == "client-credentials" and client_type != Client.CLIENT_CONFIDENTIAL:
        raise ValidationError({"grant": "client-credentials needs a confidential client"})
    if client_type == Client.CLIENT_PUBLIC and secret:
        raise ValidationError({"secret": "public clients have no secret"})
    if auth_method == PRIVATE_KEY_JWT and secret:
        raise ValidationError({"secret": "a private_key_jwt client has no secret"})
    if secret is not None and len(secret) < MIN_SECRET_LENGTH:
        raise ValidationError({"secret": f"must be at least {MIN_SECRET_LENGTH} characters"})
    if scopes is None:
        scopes = default_scopes(GRANTS[grant])
    if problems := scope_problems(scopes, grant=GRANTS[grant]):
        raise ValidationError({"scopes": problems})
    if client_id and Client.objects.filter(client_id=client_id).exists():
        raise ValidationError({"client_id": f"a client with id {client_id} already exists"})
    _check_lifetimes(
        access_token_lifetime=access_token_lifetime,
        id_token_lifetime=id_token_lifetime,
        refresh_token_lifetime=refresh_token_lifetime,
    )
    plaintext = None
    if client_type == Client.CLIENT_CONFIDENTIAL and auth_method != PRIVATE_KEY_JWT:
        plaintext = secret or generate_secret()
    client = Client(
        name=name,
        client_type=client_type,
        authorization_grant_type=GRANTS[grant],
        redirect_uris=" ".join(redirect_uris),
        post_logout_redirect_uris=" ".join(post_logout_redirect_uris),
        client_secret=plaintext or "",
        # An empty secret must stay empty: hashing "" would give public clients a matchable secret.
        hash_client_secret=plaintext is not None,
        skip_authorization=skip_consent,
        backchannel_logout_uri=backchannel_logout_uri,
        backchannel_logout_session_required=backchannel_logout_session_required,
        audiences=" ".join(audiences),
        access_token_lifetime=access_token_lifetime,
        id_token_lifetime=id_token_lifetime,
        refresh_token_lifetime=refresh_token_lifetime,
        identity_claims_in_access_token=identity_claims,
        token_endpoint_auth_method=auth_method,
        token_endpoint_auth_signing_alg=signing_alg,
        id_token_signed_response_alg=id_token_signing_alg or "RS256",
        jwks=jwks,
        jwks_uri=jwks_uri,
        groups_in_access_token=groups_claim,
        allowed_scopes=" ".join(scopes),
    )
    if client_id:
        client.client_id = client_id
    groups = groups_named(allowed_groups)
    client.full_clean(exclude=["client_secret", "user"])
    client.save()
    client.allowed_groups.set(groups)
    return client, plaintext


def groups_named(names):
    """The auth.Group of each name, in order; ValidationError naming the ones that do not exist."""
    names = list(dict.fromkeys(names))
    found = {group.name: group for group in Group.objects.filter(name__in=names)}
    missing = [name for name in names if name not in found]
    if missing:
        raise ValidationError({"allowed_groups": f"no group named {', '.join(map(repr, missing))}"})
    return [found[name] for name in names]


@transaction.atomic
def client_set_allowed_groups(*, client, names):
    """Restrict a client to the members of the groups named (none: every user). True if it changed.

    Existing grants of users outside them end at their next refresh (access_policy.py).
    """
    groups = groups_named(names)
    if {g.pk for g in groups} == set(client.allowed_groups.values_list("pk", flat=True)):
        return False
    client.allowed_groups.set(groups)
    return True


def _check_lifetimes(**lifetimes):
    for field, seconds in lifetimes.items():
        if seconds is not None and seconds <= 0:
            raise ValidationError({field: "must be a positive number of seconds"})


# What client_update may change, by its keyword; the grant, type and client id stay as registered.
UPDATABLE = {
    "name": "name",
    "redirect_uris": "redirect_uris",
    "post_logout_redirect_uris": "post_logout_redirect_uris",
    "scopes": "allowed_scopes",
    "audiences": "audiences",
    "skip_consent": "skip_authorization",
    "backchannel_logout_uri": "backchannel_logout_uri",
    "backchannel_logout_session_required": "backchannel_logout_session_required",
    "access_token_lifetime": "access_token_lifetime",
    "id_token_lifetime": "id_token_lifetime",
    "refresh_token_lifetime": "refresh_token_lifetime",
    "identity_claims": "identity_claims_in_access_token",
    "auth_method": "token_endpoint_auth_method",
    "jwks": "jwks",
    "jwks_uri": "jwks_uri",
    "signing_alg": "token_endpoint_auth_signing_alg",
    "id_token_signing_alg": "id_token_signed_response_alg",
    "groups_claim": "groups_in_access_token",
}
LISTS = {"redirect_uris", "post_logout_redirect_uris", "scopes", "audiences"}


@transaction.atomic
def client_update(*, client, **changes):
    """Change the settings named in UPDATABLE (lists as lists, lifetimes as seconds or None for the
    default); checked as client_create checks them. Returns the model fields that changed."""
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise TypeError(f"client_update cannot change {', '.join(sorted(unknown))}")
    _check_lifetimes(**{k: v for k, v in changes.items() if k.endswith("_lifetime")})
    if "scopes" in changes and (
        problems := scope_problems(changes["scopes"], grant=client.authorization_grant_type)
    ):
        raise ValidationError({"scopes": problems})
    changed = []
    for name, value in changes.items():
        field = UPDATABLE[name]
        value = " ".join(value) if name in LISTS else value
        if getattr(client, field) != value:
            setattr(client, field, value)
            changed.append(field)
    if client.authenticates_with_key and client.client_secret:
        # OIDC Core 9: a client that authenticates with its key keeps no secret that could stand in.
        client.client_secret, client.hash_client_secret = "", False
        changed += ["client_secret", "hash_client_secret"]
    if changed:
        client.full_clean(exclude=["client_secret", "user"])
        client.save(update_fields=[*changed, "updated"])
    return changed


@transaction.atomic
def client_set_active(*, client, active):
    """Enable or disable a client; False when it already was. A disabled client gets no tokens, and
    the ones it has are inactive at introspection and userinfo at once (access_tokens.py)."""
    if client.is_active == active:
        return False
    client.is_active = active
    client.save(update_fields=["is_active", "updated"])
    return True


@transaction.atomic
def client_regenerate_secret(*, client):
    """Give a confidential client a new secret; only its hash is stored. Returns the plaintext, once."""
    if client.client_type != Client.CLIENT_CONFIDENTIAL:
        raise ValidationError({"type": "public clients have no secret"})
    if client.authenticates_with_key:
        raise ValidationError({"auth_method": "a private_key_jwt client has no secret"})
    plaintext = generate_secret()
    client.client_secret = plaintext
    client.hash_client_secret = True
    client.save(update_fields=["client_secret", "hash_client_secret", "updated"])
    return plaintext
