"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document), when SIGNET_CIMD is on.

A client_id that is an https URL names a JSON document of RFC 7591 client metadata, served by the
client at that URL. Signet fetches it (safe_fetch: SSRF rules, FETCH_TIMEOUT_SECONDS,
MAX_DOCUMENT_BYTES, no redirects), checks it under the rules of open registration (registration.py:
public or private_key_jwt, https or loopback redirect URIs, PKCE required) and keeps the client as a
Client row whose client_id is the URL and whose registration_source is "cimd". The row is used until
the document's Cache-Control max-age (within [MIN, MAX]_CACHE_SECONDS) has passed, then the document
is fetched again and the row follows it. An operator disables such a client in the admin like any
other; a disabled one is not fetched again, and stays refused whatever its document says.

DOT 3.4 ships a CIMD resolver of its own (oauth2_provider.cimd), left off (its CIMD_ENABLED): it has a
second fetcher, registers clients outside Signet's rules, and reaches DOT's settings and cache.
"""

import json
import logging
import threading
from datetime import timedelta
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from provider.audit import audit

from . import client_cache, safe_fetch
from .models import Client
from .registration import GRANTS, RegistrationError, client_settings
from .scopes import default_scopes
from .services import client_create, client_update

log = logging.getLogger("signet.metadata_documents")

FETCH_TIMEOUT_SECONDS = 5
# The draft (6.6) expects documents of a few KB; this leaves room for a JWK Set of a few keys.
MAX_DOCUMENT_BYTES = 16 * 1024
DEFAULT_CACHE_SECONDS = 300
# Below this a document is not fetched again whatever its Cache-Control says: every /authorize must
# not become a request to the client's server that anyone can trigger.
MIN_CACHE_SECONDS = 60
MAX_CACHE_SECONDS = 24 * 60 * 60
# A URL that failed is not fetched again within this many seconds, whatever the traffic naming it.
RETRY_INTERVAL = 10
# A known client whose document is briefly unreachable (or answers 5xx) keeps working this long past
# its expiry: a client's outage should not lock out its users, nor a long one keep stale redirect URIs.
MAX_STALE_SECONDS = 60 * 60
MAX_URL_LENGTH = Client._meta.get_field("client_id").max_length
MAX_FAILURES = 1024


class DocumentRefused(Exception):
    """The client_id names a document Signet cannot use; the message says why, safe to show."""


class DocumentUnavailable(DocumentRefused):
    """The document could not be fetched this time (network, 5xx): a known client may go on stale."""


def clock():
    """The time a document's freshness is measured against (tests pin it)."""
    return timezone.now()


def names_document(client_id):
    """True when `client_id` is meant as a document URL (any https:// or http:// id): it is then
    resolved here, and refused with the reason when it breaks a rule, not looked up as an id."""
    return isinstance(client_id, str) and client_id[:8].lower().startswith(("https://", "http://"))


def url_problem(url):
    """Why `url` cannot be a client ID metadata document's URL, or None (draft 3: https, a host and a
    path; no fragment, no userinfo, no dot segments)."""
    if len(url) > MAX_URL_LENGTH:
        return f"A client_id URL is at most {MAX_URL_LENGTH} characters."
    # Printable ASCII only: what a request line and a certificate name can carry unchanged.
    if not url.isascii() or any(not c.isprintable() or c.isspace() for c in url) or "\\" in url:
        return "The client_id URL may contain only printable ASCII, without spaces or backslashes."
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "The client_id is not a URL."
    if parts.scheme != "https":
        return "The client_id URL must use https."
    if not parts.hostname:
        return "The client_id URL must name a host."
    if "@" in parts.netloc:
        return "The client_id URL must not contain a user name or password."
    if "#" in url:
        return "The client_id URL must not contain a fragment."
    if not parts.path or parts.path == "/":
        return "The client_id URL must have a path."
    # Checked decoded too: %2e%2e is a dot segment to a server that normalises.
    if any(unquote(segment) in (".", "..") for segment in parts.path.split("/")):
        return "The client_id URL must not contain . or .. path segments."
    return None


def host_of(client):
    """The host a CIMD client's document is served from (shown on the consent page), else None."""
    if client is None or client.registration_source != Client.RegistrationSource.CIMD:
        return None
    return urlsplit(client.client_id).hostname


def client_for(client_id):
    """The Client `client_id` names, or None when there is none.

    An ordinary client_id is looked up as before (client_cache). One that names a document is, with
    SIGNET_CIMD on, registered or refreshed from its document when needed; DocumentRefused says why
    it cannot be used (turned off, a bad URL, a bad document). Active or not: callers check.
    """
    known = _known(client_id)
    if known is not None and known.registration_source != Client.RegistrationSource.CIMD:
        return known
    if not names_document(client_id):
        return known
    if not settings.SIGNET_CIMD:
        if known is None:
            return None
        raise DocumentRefused("Client ID Metadata Documents are not accepted here.")
    if problem := url_problem(client_id):
        raise DocumentRefused(problem)
    now = clock()
    if known is not None and (not known.is_active or (known.cimd_expires_at or now) > now):
        # Fresh, or disabled by an operator: either way its document is not fetched.
        return known
    return _refreshed(client_id, known, now)


def _known(client_id):
    # NUL and overlong ids are no client's: PostgreSQL refuses NUL in a query, the column the long one.
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_URL_LENGTH or "\x00" in client_id:
        return None
    return client_cache.client_get(client_id)


# --- fetching ---------------------------------------------------------------------------------------
_lock = threading.Lock()
_failures = {}  # url -> (clock() before which it is not fetched again, the refusal's class, message)


def clear():
    with _lock:
        _failures.clear()


def _refreshed(url, known, now):
    failed = _failures.get(url)
    waiting = failed is not None and failed[0] > now
    try:
        if waiting:
            raise failed[1](failed[2])  # a new exception each time: a kept one's traceback would grow
        try:
            metadata, lifetime = fetch_document(url)
            client = _store(url, known, metadata, now + timedelta(seconds=lifetime))
        except DocumentRefused as e:
            with _lock:
                if len(_failures) >= MAX_FAILURES:
                    _failures.clear()
                _failures[url] = (now + timedelta(seconds=RETRY_INTERVAL), type(e), str(e))
            raise
        _failures.pop(url, None)
        return client
    except DocumentUnavailable as e:
        expired_at = known.cimd_expires_at if known is not None else None
        if expired_at is not None and now - expired_at <= timedelta(seconds=MAX_STALE_SECONDS):
            if not waiting:
                log.warning("client ID metadata document %s unavailable (%s): kept as it was", url, e)
            return known
        _refused(url, known, e, fetched=not waiting)
        raise
    except DocumentRefused as e:
        _refused(url, known, e, fetched=not waiting)
        raise


def _refused(url, known, error, *, fetched):
    if not fetched:
        return  # refused moments ago, and said so then
    # A row for a known client whose document broke helps its operator; an unknown URL gets only a
    # log line, so made-up URLs cannot fill the audit table.
    audit("client.metadata_refused", client_id=url, reason=str(error), store=known is not None)


def fetch_document(url):
    """GET and check the document at `url`: (its metadata, seconds to keep it), or DocumentRefused."""
    try:
        status, cache_control, body = safe_fetch.fetch(
            url,
            allow_private=settings.SIGNET_CIMD_ALLOW_PRIVATE,
            max_bytes=MAX_DOCUMENT_BYTES,
            accept="application/json",
            what="the client_id URL",
            document="the client ID metadata document",
            timeout=FETCH_TIMEOUT_SECONDS,
        )
    except safe_fetch.FetchRefused as e:
        # A private address is the operator's rule, not an outage: it is never stale-served.
        refused = isinstance(e, safe_fetch.PrivateAddressRefused)
        raise (DocumentRefused if refused else DocumentUnavailable)(_sentence(str(e))) from e
    if status >= 500:
        raise DocumentUnavailable(f"The client_id URL answered {status}.")
    if status != 200:
        # Redirects are not followed (draft 4: the document is served at the client_id itself).
        raise DocumentRefused(f"The client_id URL answered {status}.")
    try:
        metadata = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise DocumentRefused("The client_id URL did not serve JSON.") from e
    if not isinstance(metadata, dict):
        raise DocumentRefused("The client ID metadata document must be a JSON object.")
    # Draft 4.1: the document's client_id is the URL it was fetched from, character for character.
    if metadata.get("client_id") != url:
        raise DocumentRefused("The client ID metadata document's client_id is not its URL.")
    lifetime = safe_fetch.cache_lifetime(
        cache_control, default=DEFAULT_CACHE_SECONDS, minimum=MIN_CACHE_SECONDS, maximum=MAX_CACHE_SECONDS
    )
    return metadata, lifetime


def _sentence(message):
    return message[0].upper() + message[1:] + "."


# --- the client row ---------------------------------------------------------------------------------
def _store(url, known, metadata, expires_at):
    """Create or update the client from a fetched document; the row, or DocumentRefused."""
    try:
        kwargs, kept = client_settings(metadata, mode="cimd")
    except RegistrationError as e:
        raise DocumentRefused(f"The client ID metadata document: {e.description}") from None
    if "client_name" not in metadata:
        kwargs["name"] = urlsplit(url).hostname
    try:
        with transaction.atomic():
            if known is None:
                client, changed = _create(url, kwargs, kept, expires_at), ["created"]
            else:
                client = Client.objects.select_for_update().get(pk=known.pk)
                changed = _update(client, kwargs, kept, expires_at)
    except (ValidationError, IntegrityError) as e:
        # Another request registered this URL meanwhile (client_create's check or the unique index
        # saw it): its row serves this one too.
        client = Client.objects.filter(client_id=url).first() if known is None else None
        if client is not None:
            return client
        if isinstance(e, IntegrityError):
            raise DocumentUnavailable("The client could not be registered; try again.") from None
        messages = " ".join(m for ms in _messages(e) for m in ms)
        raise DocumentRefused(f"The client ID metadata document: {messages}") from None
    except Client.DoesNotExist:
        raise DocumentUnavailable("The client was deleted meanwhile; try again.") from None
    if changed:
        audit("client.metadata_fetched", client_id=url, name=client.name, changed=changed)
    return client


def _messages(error):
    return error.message_dict.values() if hasattr(error, "error_dict") else [error.messages]


def _create(url, kwargs, kept, expires_at):
    client, _secret = client_create(**kwargs, client_id=url)
    client.registration_source = Client.RegistrationSource.CIMD
    client.registration_metadata = kept
    client.cimd_expires_at = expires_at
    client.save(update_fields=["registration_source", "registration_metadata", "cimd_expires_at"])
    return client


def _update(client, kwargs, kept, expires_at):
    """Follow the document; the fields that changed. The grant and the way the client authenticates
    stay as first registered: tokens and consents were given to that kind of client."""
    grant = GRANTS[kwargs["grant"]]
    if (
        grant != client.authorization_grant_type
        or kwargs["client_type"] != client.client_type
        or kwargs["auth_method"] != client.token_endpoint_auth_method
    ):
        raise DocumentRefused(
            "The client ID metadata document changed the client's grant or authentication method; "
            "an operator must delete the client before it can be registered again."
        )
    changed = client_update(
        client=client,
        name=kwargs["name"],
        redirect_uris=kwargs["redirect_uris"],
        post_logout_redirect_uris=kwargs["post_logout_redirect_uris"],
        backchannel_logout_uri=kwargs["backchannel_logout_uri"],
        jwks=kwargs["jwks"],
        jwks_uri=kwargs["jwks_uri"],
        scopes=kwargs["scopes"] if kwargs["scopes"] is not None else default_scopes(grant),
    )
    fields = ["cimd_expires_at"]
    client.cimd_expires_at = expires_at
    if client.registration_metadata != kept:
        client.registration_metadata = kept
        fields.append("registration_metadata")
        changed.append("registration_metadata")
    # Saved even when only the expiry moved: the save also tells every worker's client cache.
    client.save(update_fields=[*fields, "updated"])
    return changed
