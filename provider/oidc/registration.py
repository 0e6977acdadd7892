"""Dynamic client registration (RFC 7591) and its management (RFC 7592): the rules and the changes.

A registration is checked here, member by member, then made by services.client_create with every rule
an operator's client obeys (redirect URIs, scopes, grant/scope compatibility, private_key_jwt keys).
Each refusal is a RegistrationError carrying its RFC 7591 3.2.2 error code.
"""

import hashlib
import hmac
import ipaddress
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import PRIVATE_KEY_JWT, Client, InitialAccessToken, token_signing_alg
from .scopes import default_scopes
from .services import GRANTS, client_create, client_update

# RFC 7591 2: the metadata values Signet can honour, and the Signet grant each grant_types value means.
GRANT_TYPES = {
    "authorization_code": "authorization-code",
    "client_credentials": "client-credentials",
    "urn:ietf:params:oauth:grant-type:device_code": "device-code",
}
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
INFORMATIONAL_URIS = ("logo_uri", "client_uri", "policy_uri", "tos_uri")
MAX_BODY = 16 * 1024
MAX_URIS = 20
MAX_URI_LENGTH = 2000
MAX_CONTACTS = 10
DEFAULT_NAME = "Dynamically registered client"
CLIENT_ID_MAX_LENGTH = Client._meta.get_field("client_id").max_length
REGISTRATION_FIELDS = ("registration_source", "registration_access_token_checksum", "registration_metadata")


class RegistrationError(Exception):
    """An RFC 7591 3.2.2 error: invalid_redirect_uri, invalid_client_metadata, invalid_software_statement."""

    def __init__(self, error, description):
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description


def metadata_error(description):
    return RegistrationError("invalid_client_metadata", description)


def checksum(token):
    """What is stored of a registration or initial access token: 256 random bits need no slow hash."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token():
    return secrets.token_urlsafe(32)


# --- Initial access tokens (RFC 7591 3) --------------------------------------------------------------


def initial_access_token_create(*, expires_in, created_by=""):
    """Mint a single-use initial access token; returns (row, plaintext). Only its checksum is stored."""
    if expires_in <= 0:
        raise ValidationError({"expires_in": "must be a positive number of seconds"})
    plaintext = new_token()
    row = InitialAccessToken.objects.create(
        checksum=checksum(plaintext),
        expires_at=timezone.now() + timedelta(seconds=expires_in),
        created_by=created_by,
    )
    return row, plaintext


def initial_access_token_valid(token):
    """True when `token` is an unused, unexpired initial access token (it is not used up here)."""
    if not token:
        return False
    return InitialAccessToken.objects.filter(
        checksum=checksum(token), used_at__isnull=True, expires_at__gt=timezone.now()
    ).exists()


def initial_access_token_id(token):
    """The primary key of the initial access token row `token` is, or None (purged meanwhile)."""
    return InitialAccessToken.objects.filter(checksum=checksum(token)).values_list("pk", flat=True).first()


def _use_initial_access_token(token, client_id):
    """Use the token up, inside the registration's transaction: of two registrations racing with one
    token, the conditional UPDATE lets exactly one through."""
    used = InitialAccessToken.objects.filter(
        checksum=checksum(token), used_at__isnull=True, expires_at__gt=timezone.now()
    ).update(used_at=timezone.now(), client_id=client_id)
    return used == 1


# --- Metadata rules (RFC 7591 2) ---------------------------------------------------------------------


def _has_nul(value):
    """True when a NUL is anywhere in the metadata: no value needs one, and PostgreSQL stores none
    (a text or jsonb column refuses it with an error, not a refusal)."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _string(metadata, name, *, default="", max_length=255):
    value = metadata.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str) or len(value) > max_length:
        raise metadata_error(f"{name} must be a string of at most {max_length} characters.")
    return value


def _string_list(metadata, name, *, max_items, error="invalid_client_metadata"):
    value = metadata.get(name)
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > max_items:
        raise RegistrationError(error, f"{name} must be an array of at most {max_items} strings.")
    if not all(isinstance(item, str) and 0 < len(item) <= MAX_URI_LENGTH for item in value):
        raise RegistrationError(error, f"{name} must be an array of non-empty strings.")
    return list(dict.fromkeys(value))


def _loopback(host):
    # RFC 8252 7.3: a native app's loopback redirect, by IP literal (or localhost, as 8.3 tolerates).
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_uri_problem(uri):
    """Why a registered redirect URI is refused, or None. RFC 9700 2.1: https, or http on loopback only;
    RFC 6749 3.1.2: absolute, no fragment."""
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return f"{uri!r} is not a URI."
    if "#" in uri or any(c.isspace() for c in uri) or not host:
        return f"{uri} must be absolute, without a fragment."
    if parts.scheme == "https" or (parts.scheme == "http" and _loopback(host)):
        return None
    return f"{uri} must use https (http only on a loopback address, RFC 8252 7.3)."


def _https_uri(metadata, name):
    uri = _string(metadata, name, max_length=MAX_URI_LENGTH)
    if not uri:
        return ""
    try:
        parts = urlsplit(uri)
        ok = parts.scheme == "https" and bool(parts.hostname) and not any(c.isspace() for c in uri)
    except ValueError:
        ok = False
    if not ok:
        raise metadata_error(f"{name} must be an https URL.")
    return uri


def _grant(metadata):
    """RFC 7591 2.1: grant_types (default authorization_code) and response_types must agree. A Signet
    client has one grant; refresh_token may accompany authorization_code or device_code."""
    grant_types = _string_list(metadata, "grant_types", max_items=4) or ["authorization_code"]
    unknown = [g for g in grant_types if g not in GRANT_TYPES and g != "refresh_token"]
    if unknown:
        raise metadata_error(f"Unsupported grant_types: {', '.join(unknown)}.")
    main = [g for g in grant_types if g in GRANT_TYPES]
    if len(main) != 1:
        raise metadata_error("grant_types must name exactly one of " + ", ".join(GRANT_TYPES) + ".")
    if "refresh_token" in grant_types and main[0] == "client_credentials":
        raise metadata_error("client_credentials clients get no refresh tokens.")
    response_types = _string_list(metadata, "response_types", max_items=2)
    expected = ["code"] if main[0] == "authorization_code" else []
    if "response_types" in metadata and response_types != expected:
        raise metadata_error(f"response_types must be {expected} with grant_types {grant_types}.")
    return GRANT_TYPES[main[0]], grant_types, expected


def _auth_method(metadata, *, mode):
    if mode == "cimd":
        return _document_auth_method(metadata)
    method = _string(metadata, "token_endpoint_auth_method", default="client_secret_basic", max_length=32)
    if method not in AUTH_METHODS:
        raise metadata_error(f"token_endpoint_auth_method must be one of {', '.join(AUTH_METHODS)}.")
    # Open registration makes public clients only: anyone may register, so a secret would prove nothing
    # about who holds it. Refused rather than downgraded: a client that asked for a secret and got none
    # would fail at its first token request instead of here.
    if mode == "open" and method != "none":
        raise metadata_error("Open registration makes public clients only: token_endpoint_auth_method none.")
    return method


def _id_token_alg(metadata):
    """OIDC Dynamic Client Registration 2: id_token_signed_response_alg, RS256 when left out. Only an
    algorithm the key ring keeps a key for can sign; none and HS* are never among them (an ID token
    must be signed, and Signet shares no secret key with a client to MAC one)."""
    alg = _string(metadata, "id_token_signed_response_alg", default="RS256", max_length=16)
    if alg not in settings.SIGNET_SIGNING_ALGS:
        offered = ", ".join(settings.SIGNET_SIGNING_ALGS)
        raise metadata_error(f"id_token_signed_response_alg must be one of {offered}.")
    return alg


def _document_auth_method(metadata):
    """A client ID metadata document's client is public or signs with its key: a document is public,
    so no secret can be agreed through it (draft-ietf-oauth-client-id-metadata-document 4.1). Left
    out, the method is none: RFC 7591's client_secret_basic default cannot apply."""
    if "client_secret" in metadata or "client_secret_expires_at" in metadata:
        raise metadata_error("A client ID metadata document must not hold a client_secret.")
    method = _string(metadata, "token_endpoint_auth_method", default="none", max_length=32)
    if method not in ("none", PRIVATE_KEY_JWT):
        raise metadata_error(
            "A client ID metadata document's token_endpoint_auth_method must be none or private_key_jwt."
        )
    return method


def client_settings(metadata, *, mode):
    """client_create's keyword arguments and the metadata to keep, from a registration request's JSON
    (mode "token" or "open") or a client ID metadata document (mode "cimd").

    Unknown members are ignored (RFC 7591 2); each member Signet knows is checked.
    """
    if not isinstance(metadata, dict):
        raise metadata_error("The request body must be a JSON object.")
    if _has_nul(metadata):
        raise metadata_error("The metadata contains a NUL character.")
    if "software_statement" in metadata:
        # RFC 7591 2.3: Signet trusts no software statement issuer, so it cannot accept one.
        raise RegistrationError("invalid_software_statement", "Software statements are not accepted.")
    grant, grant_types, response_types = _grant(metadata)
    method = _auth_method(metadata, mode=mode)
    redirect_uris = _string_list(metadata, "redirect_uris", max_items=MAX_URIS, error="invalid_redirect_uri")
    post_logout = _string_list(
        metadata, "post_logout_redirect_uris", max_items=MAX_URIS, error="invalid_client_metadata"
    )
    for uri in redirect_uris:
        if problem := redirect_uri_problem(uri):
            raise RegistrationError("invalid_redirect_uri", problem)
    for uri in post_logout:
        if problem := redirect_uri_problem(uri):
            raise metadata_error(f"post_logout_redirect_uris: {problem}")
    if grant == "authorization-code" and not redirect_uris:
        raise RegistrationError("invalid_redirect_uri", "redirect_uris is required for authorization_code.")
    if grant != "authorization-code" and redirect_uris:
        raise RegistrationError("invalid_redirect_uri", "Only authorization_code clients have redirect_uris.")
    scope = _string(metadata, "scope", max_length=1000)
    jwks = metadata.get("jwks")
    if jwks is not None and not isinstance(jwks, dict):
        raise metadata_error("jwks must be a JWK Set object.")
    jwks_uri = _string(metadata, "jwks_uri", max_length=1024)
    if method != PRIVATE_KEY_JWT and (jwks is not None or jwks_uri):
        raise metadata_error("jwks and jwks_uri are for token_endpoint_auth_method private_key_jwt.")
    kept = {
        "grant_types": grant_types,
        "response_types": response_types,
        "token_endpoint_auth_method": method,
        "contacts": _string_list(metadata, "contacts", max_items=MAX_CONTACTS),
        **{name: _https_uri(metadata, name) for name in INFORMATIONAL_URIS},
    }
    kwargs = {
        "name": _string(metadata, "client_name", max_length=255) or DEFAULT_NAME,
        "client_type": Client.CLIENT_PUBLIC if method == "none" else Client.CLIENT_CONFIDENTIAL,
        "grant": grant,
        "redirect_uris": redirect_uris,
        "post_logout_redirect_uris": post_logout,
        "scopes": scope.split() if scope else None,
        "backchannel_logout_uri": _string(metadata, "backchannel_logout_uri", max_length=MAX_URI_LENGTH),
        "auth_method": PRIVATE_KEY_JWT if method == PRIVATE_KEY_JWT else "",
        "jwks": jwks,
        "jwks_uri": jwks_uri,
        "id_token_signing_alg": _id_token_alg(metadata),
    }
    return kwargs, {k: v for k, v in kept.items() if v}


def _as_registration_error(error):
    """A model or service ValidationError as the RFC 7591 error of the field it names."""
    fields = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    field, messages = next(iter(fields.items()))
    code = "invalid_redirect_uri" if field == "redirect_uris" else "invalid_client_metadata"
    name = {"scopes": "scope", "allowed_scopes": "scope"}.get(field, field)
    return RegistrationError(code, f"{name}: {' '.join(messages)}" if name else " ".join(messages))


# --- Registration and management (RFC 7591 3, RFC 7592 2) --------------------------------------------


def register(metadata, *, mode, initial_access_token=None):
    """Register a client. Returns (client, plaintext secret or None, plaintext registration access token).

    Raises RegistrationError, or PermissionError when the initial access token was used up meanwhile.
    """
    kwargs, kept = client_settings(metadata, mode=mode)
    registration_token = new_token()
    try:
        with transaction.atomic():
            client, secret = client_create(**kwargs)
            client.registration_source = Client.RegistrationSource.DCR
            client.registration_access_token_checksum = checksum(registration_token)
            client.registration_metadata = kept
            client.save(update_fields=[*REGISTRATION_FIELDS])
            if initial_access_token is not None and not _use_initial_access_token(
                initial_access_token, client.client_id
            ):
                raise PermissionError("initial access token used up")
    except ValidationError as e:
        raise _as_registration_error(e) from None
    return client, secret, registration_token


def registered_client(client_id, token):
    """The dynamically registered client whose registration access token this is, or None.

    The checksums are compared in constant time; an unknown client costs the same comparison.
    """
    # The client id comes from the URL: one no client can have (a NUL, which PostgreSQL refuses in a
    # query, or longer than the column) is not looked up.
    possible = 0 < len(client_id) <= CLIENT_ID_MAX_LENGTH and "\x00" not in client_id
    client = (
        Client.objects.filter(client_id=client_id, registration_source=Client.RegistrationSource.DCR).first()
        if possible
        else None
    )
    stored = client.registration_access_token_checksum if client is not None else ""
    given = checksum(token or "")
    if not hmac.compare_digest(given, stored or "0" * 64) or not token or client is None:
        return None
    return client


def update(client, metadata):
    """RFC 7592 2.2: replace the client's metadata with `metadata`, under the rules of registration.

    The grant, the client type and the way it authenticates (secret or key) stay as registered.
    Returns the model fields that changed.
    """
    if metadata.get("client_id") != client.client_id:
        raise metadata_error("client_id must be the client's own.")
    mode = "open" if client.client_type == Client.CLIENT_PUBLIC else "token"
    kwargs, kept = client_settings(metadata, mode=mode)
    if kwargs["grant"] != _signet_grant(client) or kwargs["client_type"] != client.client_type:
        raise metadata_error("The client's grant and type stay as registered.")
    if kwargs["auth_method"] != client.token_endpoint_auth_method:
        raise metadata_error("A client cannot switch between a secret and private_key_jwt.")
    changes = {
        "name": kwargs["name"],
        "redirect_uris": kwargs["redirect_uris"],
        "post_logout_redirect_uris": kwargs["post_logout_redirect_uris"],
        "backchannel_logout_uri": kwargs["backchannel_logout_uri"],
        "jwks": kwargs["jwks"],
        "jwks_uri": kwargs["jwks_uri"],
        "id_token_signing_alg": kwargs["id_token_signing_alg"],
        # A full replacement: a scope left out is the default a new registration would get.
        "scopes": kwargs["scopes"]
        if kwargs["scopes"] is not None
        else default_scopes(GRANTS[kwargs["grant"]]),
    }
    try:
        with transaction.atomic():
            changed = client_update(client=client, **changes)
            if client.registration_metadata != kept:
                client.registration_metadata = kept
                client.save(update_fields=["registration_metadata", "updated"])
                changed.append("registration_metadata")
    except ValidationError as e:
        raise _as_registration_error(e) from None
    return changed


def _signet_grant(client):
    return next(name for name, grant in GRANTS.items() if grant == client.authorization_grant_type)


def client_metadata(client):
    """RFC 7591 3.2.1 / RFC 7592 3: the client's metadata as registered (never a secret)."""
    kept = client.registration_metadata or {}
    body = {
        "client_id": client.client_id,
        "client_id_issued_at": int(client.created.timestamp()),
        "client_name": client.name,
        "scope": client.allowed_scopes,
        "grant_types": kept.get("grant_types", []),
        "response_types": kept.get("response_types", []),
        "token_endpoint_auth_method": kept.get("token_endpoint_auth_method", "none"),
        # The alg its ID tokens are signed with now: RS256 if an operator has since taken the chosen one
        # out of SIGNET_SIGNING_ALGS, so a client that PUTs back what it read is not refused.
        "id_token_signed_response_alg": token_signing_alg(client),
    }
    if client.redirect_uris:
        body["redirect_uris"] = client.redirect_uris.split()
    if client.post_logout_redirect_uris:
        body["post_logout_redirect_uris"] = client.post_logout_redirect_uris.split()
    if client.backchannel_logout_uri:
        body["backchannel_logout_uri"] = client.backchannel_logout_uri
    if client.jwks is not None:
        body["jwks"] = client.jwks
    if client.jwks_uri:
        body["jwks_uri"] = client.jwks_uri
    for name in ("contacts", *INFORMATIONAL_URIS):
        if kept.get(name):
            body[name] = kept[name]
    if client.client_type == Client.CLIENT_CONFIDENTIAL and not client.authenticates_with_key:
        body["client_secret_expires_at"] = 0  # RFC 7591 3.2.1: the secret does not expire
    return body
