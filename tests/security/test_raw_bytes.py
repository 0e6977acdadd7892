"""Hostile bytes sent through a socket, exactly as written, to every endpoint (issue 13, item 2).

Each payload goes into a query parameter's name and value, a form body's name and value, header
values and cookie values. Every answer must pass the oracle (no 5xx, no stack trace, the protocol's
error shape, no open redirect); an encoding the endpoint cannot read exactly must be refused in its
own shape: RFC 6749 5.2 invalid_request JSON at token, revocation and introspection, an RFC 6750 3
Bearer challenge at userinfo, an error page (never a redirect) at authorize and logout.

CI sends every payload once to every place (the "short" preset); `./dev soak` adds every pair of
payloads in one request (the "long" preset).
"""

import base64
import itertools
import os

import pytest

from tests.conftest import POST_LOGOUT_URI, REDIRECT_URI
from tests.support.browser import pkce_pair
from tests.support.raw_http import send

from .oracle import problems

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.reliability]

# What the issue's outside checks sent, and their relatives. Each is refused wherever it is read.
MALFORMED = {
    "bare-percent": b"%",
    "percent-one-hex": b"%z",
    "percent-no-hex": b"%zz",
    "percent-bad-second": b"%0G",
    "percent-bad-first": b"%G0",
    "double-percent": b"%%41",
    "percent-u": b"%u0041",
    "percent-plus": b"%+1",
    "escaped-surrogate": b"%ed%a0%80",
    "escaped-overlong-utf8": b"%C0%AF",
    "escaped-ff": b"%ff",
    "raw-invalid-utf8": b"\xff\xfe",
}
# Refused as a parameter's name (no name has one); as a value it is the endpoint's to refuse.
NUL = {"escaped-nul-run": b"%00%00%00", "raw-nul": b"\x00"}
# Well-formed but unusual: read exactly, so the endpoint answers as it would any other value.
WELL_FORMED = {
    "escaped-bom": b"%ef%bb%bf",
    "raw-utf8": "é€𝄞".encode(),
    "long-value": b"A" * 20000,
    "overlong-line": b"A" * 70000,  # past the servers' request-line limits (414/431, never a 5xx)
}
PAYLOADS = {**MALFORMED, **NUL, **WELL_FORMED}
PRESETS = {"short": 1, "long": 2}  # payloads per request: each alone, or every ordered pair


def basic(client_id, secret):
    return b"Basic " + base64.b64encode(f"{client_id}:{secret}".encode())


@pytest.fixture
def places(flow):
    """(endpoint, method, place, build) per place a payload goes; build(p) -> (target, headers, body)."""
    _verifier, challenge = pkce_pair()
    authorize = (
        f"/authorize?response_type=code&client_id={flow.client_id}&redirect_uri={REDIRECT_URI}"
        f"&scope=openid&state=s&code_challenge={challenge}&code_challenge_method=S256"
    ).encode()
    client_auth = [("Authorization", basic(flow.client_id, flow.secret))]
    bearer = [("Authorization", b"Bearer " + flow.access_token.encode())]
    form = [("Content-Type", b"application/x-www-form-urlencoded")]
    session = flow.browser.http.cookies.get("sessionid", "").encode()
    logout = f"/logout?client_id={flow.client_id}&post_logout_redirect_uri={POST_LOGOUT_URI}".encode()
    bodies = {
        "token": (b"/token", b"grant_type=client_credentials", client_auth),
        "revoke": (b"/revoke", b"token=abc&token_type_hint=refresh_token", client_auth),
        "introspect": (b"/introspect", b"token=abc", client_auth),
        "userinfo": (b"/userinfo", b"", bearer),
    }
    queries = {
        "authorize": (authorize, [("Cookie", b"sessionid=" + session)]),
        "userinfo": (b"/userinfo", bearer),
        "end_session": (logout, []),
        "token": (b"/token", client_auth),
        "discovery": (b"/.well-known/openid-configuration", []),
        "jwks": (b"/jwks", []),
    }
    found = []
    for endpoint, (target, headers) in queries.items():
        method = "POST" if endpoint == "token" else "GET"
        body = bodies["token"][1] if endpoint == "token" else b""
        glue = b"&" if b"?" in target else b"?"
        extra = form if method == "POST" else []
        found.append(
            (
                endpoint,
                method,
                "query-name",
                lambda p, t=target, g=glue, h=headers, b=body, x=extra: (t + g + p + b"=x", h + x, b),
            )
        )
        found.append(
            (
                endpoint,
                method,
                "query-value",
                lambda p, t=target, g=glue, h=headers, b=body, x=extra: (t + g + b"x=" + p, h + x, b),
            )
        )
    for endpoint, (target, body, headers) in bodies.items():
        glue = b"&" if body else b""
        found.append(
            (
                endpoint,
                "POST",
                "body-name",
                lambda p, t=target, b=body, g=glue, h=headers: (t, h + form, b + g + p + b"=x"),
            )
        )
        found.append(
            (
                endpoint,
                "POST",
                "body-value",
                lambda p, t=target, b=body, g=glue, h=headers: (t, h + form, b + g + b"x=" + p),
            )
        )
    header_targets = {"authorize": authorize, "token": b"/token", "userinfo": b"/userinfo", "jwks": b"/jwks"}
    for endpoint, target in header_targets.items():
        method = "POST" if endpoint == "token" else "GET"
        body = bodies["token"][1] if endpoint == "token" else b""
        for header in ("Authorization", "Accept-Language", "X-Forwarded-For", "Origin", "Cookie"):

            def build(p, t=target, h=header, b=body, m=method):
                value = {"Authorization": b"Bearer " + p, "Cookie": b"sessionid=" + p + b"; csrftoken=" + p}
                headers = [(h, value.get(h, p))]
                return t, headers + (form if m == "POST" else []), b

            found.append((endpoint, method, f"header-{header}", build))
    return found


ERROR_SHAPE = {
    # endpoint -> what a refused encoding must look like
    "token": lambda r: r.status_code == 400 and r.json()["error"] == "invalid_request",
    "revoke": lambda r: r.status_code == 400 and r.json()["error"] == "invalid_request",
    "introspect": lambda r: r.status_code == 400 and r.json()["error"] == "invalid_request",
    "userinfo": lambda r: (
        r.status_code == 400
        and r.headers.get("WWW-Authenticate", "").startswith('Bearer error="invalid_request"')
    ),
    "authorize": lambda r: r.status_code == 400 and "Location" not in r.headers,
    "end_session": lambda r: r.status_code == 400 and "Location" not in r.headers,
}


def run(flow, places, combos):
    failures = []
    sent = 0
    for payload_names in combos:
        payload = b"".join(PAYLOADS[name] for name in payload_names)
        for endpoint, method, where, build in places:
            malformed = any(
                name in MALFORMED or (name in NUL and where.endswith("-name")) for name in payload_names
            )
            target, headers, body = build(payload)
            response = send(flow.issuer, method, target, headers=headers, body=body)
            sent += 1
            found = problems(
                endpoint,
                response,
                issuer=flow.issuer,
                redirect_uris=[REDIRECT_URI],
                post_logout_uris=[POST_LOGOUT_URI],
            )
            read_as_parameter = where.startswith(("query", "body")) and endpoint in ERROR_SHAPE
            if malformed and read_as_parameter and not ERROR_SHAPE[endpoint](response):
                found.append(
                    f"not refused as invalid_request: {response.status_code} {response.text[:120]!r}"
                )
            if found:
                failures.append((endpoint, method, where, payload_names, found))
    print(f"FIGURES raw bytes: {sent} requests, {len(failures)} failures")
    return failures


def test_hostile_bytes_everywhere(flow, places):
    combos = [(name,) for name in PAYLOADS]
    failures = run(flow, places, combos)
    assert failures == [], "\n".join(map(str, failures[:40]))


@pytest.mark.slow
def test_hostile_byte_pairs_everywhere(flow, places):
    combos = list(itertools.permutations(PAYLOADS, PRESETS["long"]))
    limit = int(os.environ.get("SIGNET_RAW_PAIRS", str(len(combos))))
    failures = run(flow, places, combos[:limit])
    assert failures == [], "\n".join(map(str, failures[:40]))


@pytest.mark.parametrize("payload", [b"%zz", b"%ed%a0%80", b"%00%00%00"], ids=["bad-hex", "utf8", "nul"])
def test_the_issues_token_cases_answer_invalid_request(flow, payload):
    """/token with the names the outside check sent: RFC 6749 5.2 invalid_request, not a 500."""
    response = send(
        flow.issuer,
        "POST",
        b"/token",
        headers=[
            ("Authorization", basic(flow.client_id, flow.secret)),
            ("Content-Type", b"application/x-www-form-urlencoded"),
        ],
        body=b"grant_type=client_credentials&" + payload + b"=1",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert response.headers["Cache-Control"] == "no-store"


# --- deeply nested JSON (issue 14, finding 4) -----------------------------------------------------

DEEP = 1000  # past Python's recursion limit: json.loads raised RecursionError, a 500


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


NESTED = {
    "arrays": b"[" * DEEP + b"]" * DEEP,
    "objects": b'{"a":' * DEEP + b"1" + b"}" * DEEP,
    "header-with-nested-member": b'{"alg":"RS256","kid":' + b"[" * DEEP + b"]" * DEEP + b"}",
}


@pytest.mark.parametrize("shape", sorted(NESTED))
def test_deeply_nested_jose_headers_are_refused_not_a_500(flow, shape):
    token = b64url(NESTED[shape]) + b".e30." + b64url(b"signature")
    userinfo = send(flow.issuer, "GET", b"/userinfo", headers=[("Authorization", b"Bearer " + token)])
    assert userinfo.status_code == 401, userinfo.text
    assert userinfo.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    for endpoint, target in [
        ("end_session", f"/logout?client_id={flow.client_id}&id_token_hint=".encode() + token),
        (
            "authorize",
            b"/authorize?response_type=code&client_id="
            + flow.client_id.encode()
            + b"&redirect_uri="
            + REDIRECT_URI.encode()
            + b"&scope=openid&prompt=none&id_token_hint="
            + token,
        ),
    ]:
        response = send(flow.issuer, "GET", target)
        found = problems(endpoint, response, issuer=flow.issuer, redirect_uris=[REDIRECT_URI])
        assert found == [] and response.status_code < 500, (endpoint, response.status_code, found)


@pytest.mark.parametrize("shape", ["arrays", "objects"])
def test_a_deeply_nested_claims_parameter_is_invalid_request(flow, shape):
    from urllib.parse import quote

    _verifier, challenge = pkce_pair()
    claims = quote(NESTED[shape].replace(b'{"a":', b'{"userinfo":')).encode()
    target = (
        f"/authorize?response_type=code&client_id={flow.client_id}&redirect_uri={REDIRECT_URI}"
        f"&scope=openid&state=s&code_challenge={challenge}&code_challenge_method=S256&claims="
    ).encode() + claims
    session = flow.browser.http.cookies.get("sessionid", "").encode()
    response = send(flow.issuer, "GET", target, headers=[("Cookie", b"sessionid=" + session)])
    assert problems("authorize", response, issuer=flow.issuer, redirect_uris=[REDIRECT_URI]) == []
    assert response.status_code == 302, response.text[:300]
    location = response.headers["Location"]
    assert location.startswith(REDIRECT_URI + "?") and "error=invalid_request" in location, location
