"""OpenID Connect Back-Channel Logout 1.0: telling clients, server to server, that a sign-in ended.

When a sign-in ends (session_end.py), every client that took part in it and registered a
`backchannel_logout_uri` gets a logout token, POSTed by the task queue's worker (provider/tasks.py),
never inside the user's own request. Each attempt is audited (`backchannel.delivered`,
`backchannel.failed`, never the token); a failed one is tried again later, a bounded number of times.
Only the registered URI is called, and redirects are not followed (SSRF: a client cannot send the
worker anywhere else).
"""

import time
import uuid

import requests
from django.conf import settings

from keys import jwt
from provider import tasks
from provider.audit import audit

from .models import Client, token_signing_alg

# Back-Channel Logout 1.0 2.4: the event that makes a JWT a logout token.
EVENT = "http://schemas.openid.net/event/backchannel-logout"
# 2.4: a short lifetime; two minutes is what the spec suggests.
LOGOUT_TOKEN_SECONDS = 120


def logout_claims(*, client_id, sub, sid, now):
    """2.4: iss, aud, iat, exp, jti, events, sub and sid (Signet always knows both); never a nonce."""
    return {
        "iss": settings.OIDC_ISSUER,
        "aud": client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_SECONDS,
        "jti": uuid.uuid4().hex,
        "sub": sub,
        "sid": sid,
        "events": {EVENT: {}},
    }


def logout_token(*, client_id, sub, sid, now=None, alg="RS256"):
    """A logout token, signed like the client's ID tokens (with `alg`), typed logout+jwt (2.4, and
    RFC 8725 3.11)."""
    current = int(now if now is not None else time.time())
    claims = logout_claims(client_id=client_id, sub=sub, sid=sid, now=current)
    return jwt.sign(claims, typ="logout+jwt", alg=alg)


def logout_notify(*, user, sid, client_ids):
    """Enqueue a logout token for each client of the ended sign-in that registered a URI for one."""
    clients = Client.objects.filter(client_id__in=client_ids, is_active=True).exclude(
        backchannel_logout_uri=""
    )
    for client_id in clients.values_list("client_id", flat=True):
        tasks.backchannel_logout.enqueue(client_id=client_id, sub=str(user.pk), sid=sid)


def delivered(response):
    # 2.8: the RP answers 200 OK when it logged out (204 too, in practice); a redirect is not success.
    return 200 <= response.status_code < 300


def retry_delay(attempt):
    """Seconds before attempt `attempt + 1`: SIGNET_BACKCHANNEL_RETRY_SECONDS, doubling each time."""
    return settings.SIGNET_BACKCHANNEL_RETRY_SECONDS * 2 ** (attempt - 1)


def logout_deliver(*, client_id, sub, sid, attempt):
    """POST one logout token to the client's registered URI; returns "delivered", "retry", "failed" or
    "gone" (the client was deleted, disabled, or no longer has a URI)."""
    client = Client.objects.filter(client_id=client_id, is_active=True).first()
    if client is None or not client.backchannel_logout_uri:
        return "gone"
    # 2.4: "signed ... as ID Tokens are": the client verifies it with the alg it registered for those.
    token = logout_token(client_id=client_id, sub=sub, sid=sid, alg=token_signing_alg(client))
    status, error = None, ""
    try:
        response = requests.post(
            client.backchannel_logout_uri,
            data={"logout_token": token},
            timeout=settings.SIGNET_BACKCHANNEL_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
        status = response.status_code
        if delivered(response):
            audit("backchannel.delivered", actor=sub, client_id=client_id, attempt=attempt, status=status)
            return "delivered"
    except requests.RequestException as e:
        error = type(e).__name__
    last = attempt >= settings.SIGNET_BACKCHANNEL_ATTEMPTS
    retrying = not last and tasks.enqueue_later(
        tasks.backchannel_logout,
        seconds=retry_delay(attempt),
        client_id=client_id,
        sub=sub,
        sid=sid,
        attempt=attempt + 1,
    )
    audit(
        "backchannel.failed",
        actor=sub,
        client_id=client_id,
        attempt=attempt,
        status=status,
        error=error,
        retrying=retrying,
    )
    return "retry" if retrying else "failed"
