"""The metrics Signet records while it serves, and the functions that record them.

Nothing is recorded while settings.SIGNET_METRICS is off. Under gunicorn every worker writes its own
file in PROMETHEUS_MULTIPROC_DIR (provider/gunicorn_conf.py) and a scrape sums them.

Labels stay bounded: a registered client's id (never one a caller merely presented), a grant type, an
RFC error code, a route name, a status code. Never a user, a token or anything typed by a caller.
"""

from django.conf import settings
from prometheus_client import Counter, Histogram

# RFC 8176 authentication method reference for a password.
PASSWORD = "pwd"
SUCCESS, FAILURE = "success", "failure"
OUTCOMES = (SUCCESS, FAILURE)

# The error codes the protocol endpoints answer (RFC 6749 5.2, 6750 3.1, 7009 2.2.1, 8707 2, 8628 3.5); any
# other is counted as "other" so a new code cannot add series unnoticed.
ERROR_CODES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "invalid_target",
        "invalid_token",
        "insufficient_scope",
        "unsupported_token_type",
        "access_denied",
        "server_error",
        "temporarily_unavailable",
        # A polling device's answers (RFC 8628 3.5); access_denied is above.
        "authorization_pending",
        "slow_down",
        "expired_token",
    }
)

# Seconds: the token endpoint answers in milliseconds, a page with Argon2 in a few hundred.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_DURATION = Histogram(
    "signet_http_request_duration_seconds",
    "Time from the first middleware to the response, by route name.",
    ["endpoint"],
    buckets=DURATION_BUCKETS,
)
RESPONSES = Counter(
    "signet_http_responses", "HTTP responses by route name and status code.", ["endpoint", "status"]
)
TOKENS_ISSUED = Counter(
    "signet_tokens_issued",
    "Successful token responses, by grant type and client.",
    ["grant_type", "client_id"],
)
OAUTH_ERRORS = Counter(
    "signet_oauth_errors",
    "Protocol error responses (token, introspection, revocation, userinfo), by route name and error code.",
    ["endpoint", "error"],
)
SIGN_INS = Counter(
    "signet_sign_ins", "Sign-in checks by method (RFC 8176 amr value) and outcome.", ["method", "outcome"]
)
LOCKOUTS = Counter(
    "signet_lockouts",
    "Sign-in locks imposed by a failure reaching a limit, by kind: pair (account + address) or address.",
    ["kind"],
)
REFRESH_REUSE = Counter(
    "signet_refresh_token_reuse",
    "A rotated refresh token presented again: its grant was revoked, by client.",
    ["client_id"],
)
CODE_REUSE = Counter(
    "signet_authorization_code_reuse",
    "An authorization code presented again: its grant was revoked, by client.",
    ["client_id"],
)
CONSENT_CHANGES = Counter(
    "signet_consent_changes", "Consents granted (or widened) and revoked, by client.", ["change", "client_id"]
)
BACKCHANNEL_DELIVERIES = Counter(
    "signet_backchannel_logout_deliveries",
    "Back-channel logout token deliveries (each attempt), by client and outcome.",
    ["client_id", "outcome"],
)
CLIENT_AUTH_FAILURES = Counter(
    "signet_client_authentication_failures",
    "Client authentications refused at the token, introspection and revocation endpoints, by method.",
    ["method"],
)


def sign_in(*, method, outcome):
    """Count one sign-in check: `method` an RFC 8176 amr value ("pwd", "otp", "hwk"…), `outcome`
    SUCCESS or FAILURE."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {OUTCOMES}, not {outcome!r}")
    if settings.SIGNET_METRICS:
        SIGN_INS.labels(method, outcome).inc()


def lockout(*, kind):
    """Count a lock imposed (accounts/lockout.py); the attempts it then refuses count as failures."""
    if settings.SIGNET_METRICS:
        LOCKOUTS.labels(kind).inc()


def _token_issued(client_id, fields):
    TOKENS_ISSUED.labels(fields.get("grant_type") or "", client_id or "").inc()


def _consent(change):
    def count(client_id, fields):
        CONSENT_CHANGES.labels(change, client_id or "").inc()

    return count


def _backchannel(outcome):
    def count(client_id, fields):
        BACKCHANNEL_DELIVERIES.labels(client_id or "", outcome).inc()

    return count


def _client_authentication_failed(client_id, fields):
    # The client_id here is whatever the caller presented: not a label.
    CLIENT_AUTH_FAILURES.labels(fields.get("method") or "").inc()


# What each audit event (provider/audit/events.py) adds to; `audit()` passes every event here, so
# one grep for an event name finds both its row and its counter. login.failed covers the password
# grant's failures too (Django's authenticate() sends user_login_failed). A correct password is
# counted where it is checked (accounts/backends.py), not at login: a second step may follow it, and
# a passkey signs in without one.
EVENTS = {
    "token.issued": _token_issued,
    "login.failed": lambda client_id, fields: sign_in(method=PASSWORD, outcome=FAILURE),
    # login.locked_out is audited for every attempt a lock refuses too: locks are counted where one
    # is imposed (`lockout`, from accounts/lockout.py).
    "token.refresh_reuse": lambda client_id, fields: REFRESH_REUSE.labels(client_id or "").inc(),
    "token.code_reuse": lambda client_id, fields: CODE_REUSE.labels(client_id or "").inc(),
    "consent.granted": _consent("granted"),
    "consent.revoked": _consent("revoked"),
    "client.authentication_failed": _client_authentication_failed,
    # Each attempt of provider/oidc/backchannel.py, counted by the process that makes it (the worker).
    "backchannel.delivered": _backchannel(SUCCESS),
    "backchannel.failed": _backchannel(FAILURE),
}


def audit_event(event, client_id, fields):
    """Add an audit event to its counter, if it has one (called by `audit()` for every event)."""
    count = EVENTS.get(event)
    if count is not None and settings.SIGNET_METRICS:
        count(client_id, fields)


def endpoint_of(request):
    """A bounded name for what answered: the URL name (the admin's pages as one), else the route.

    "unresolved" for what no URL pattern matched: 404s, static files.
    """
    match = getattr(request, "resolver_match", None)
    if match is None:
        return "unresolved"
    if match.namespace == "admin":
        return "admin"
    return match.view_name or match.route


def document_answered(endpoint, status, seconds):
    """Count one discovery or JWKS answer given before Django's handler (provider/wsgi_documents.py)."""
    if not settings.SIGNET_METRICS:
        return
    REQUEST_DURATION.labels(endpoint).observe(seconds)
    RESPONSES.labels(endpoint, str(status)).inc()


def request_answered(request, response, seconds):
    """Count one answered request (called by the request-log middleware, which sees every one)."""
    if not settings.SIGNET_METRICS:
        return
    endpoint = endpoint_of(request)
    REQUEST_DURATION.labels(endpoint).observe(seconds)
    RESPONSES.labels(endpoint, str(response.status_code)).inc()
    error = getattr(response, "signet_oauth_error", None)
    if error:
        OAUTH_ERRORS.labels(endpoint, error if error in ERROR_CODES else "other").inc()
