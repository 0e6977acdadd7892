"""What every answer to a hostile request must look like, endpoint by endpoint.

`problems(endpoint, response, ...)` returns a list of what is wrong (empty when all is well):
- never a 5xx, never a stack trace or Django's debug page;
- the token, revocation and introspection endpoints speak RFC 6749 5.2 (JSON with an `error`), and a
  401 there carries `WWW-Authenticate` (RFC 6749 5.2);
- userinfo answers a bearer error with `WWW-Authenticate: Bearer …` (RFC 6750 3);
- authorize and logout redirect only to the provider itself or to a URI the client registered
  (RFC 6749 4.1.2.1, RFC 9700 4.11: no open redirector);
- discovery and the JWKS are JSON, or a plain method refusal.
"""

from urllib.parse import urljoin, urlsplit

TRACE_MARKERS = (
    "Traceback (most recent call last)",
    "Exception Value",
    "You're seeing this error because you have",
    "DEBUG = True",
    'File "/',
    "django.core.exceptions",
    "psycopg",
    "sqlite3.",
    "OperationalError",
    "IntegrityError",
)

TOKEN_LIKE = {"token", "revoke", "introspect"}


def _json(response):
    try:
        return response.json()
    except ValueError:
        return None


def _redirect_target_ok(location, *, issuer, allowed):
    if location.startswith("//"):
        return False  # protocol-relative: another host
    target = urljoin(issuer + "/", location)
    parts = urlsplit(target)
    own = urlsplit(issuer)
    if (parts.scheme, parts.netloc) == (own.scheme, own.netloc):
        return True
    without_query = target.split("?", 1)[0].split("#", 1)[0]
    return without_query in allowed


def problems(endpoint, response, *, issuer, redirect_uris=(), post_logout_uris=()):
    found = []
    status = response.status_code
    body = response.text if response.content else ""
    if status >= 500:
        found.append(f"{status} server error")
    for marker in TRACE_MARKERS:
        if marker in body:
            found.append(f"internal detail in the body: {marker!r}")
    if status in (405, 429, 431, 413, 414):
        return found  # method, rate-limit and size refusals have no protocol-specific shape
    if endpoint in TOKEN_LIKE and status >= 400:
        data = _json(response)
        if not isinstance(data, dict) or not isinstance(data.get("error"), str):
            found.append(f"{endpoint} {status} without an RFC 6749 5.2 JSON error: {body[:120]!r}")
        if status == 401 and "WWW-Authenticate" not in response.headers:
            found.append(f"{endpoint} 401 without WWW-Authenticate")
    if endpoint == "userinfo" and status in (400, 401, 403):
        challenge = response.headers.get("WWW-Authenticate", "")
        if not challenge.lower().startswith("bearer"):
            found.append(f"userinfo {status} without a Bearer WWW-Authenticate challenge")
    if (
        endpoint in ("discovery", "jwks")
        and status == 200
        and response.request.method != "HEAD"
        and not isinstance(_json(response), dict)
    ):
        found.append(f"{endpoint} 200 is not a JSON object")
    if 300 <= status < 400 and status != 304:
        location = response.headers.get("Location", "")
        allowed = set(redirect_uris) | set(post_logout_uris)
        if not _redirect_target_ok(location, issuer=issuer, allowed=allowed):
            found.append(f"{endpoint} redirects to an unregistered target: {location[:200]!r}")
    return found
