"""Generated hostile requests (hypothesis) against a live provider: authorize, token, userinfo,
introspect, revoke, end_session (logout), discovery and JWKS.

Each request starts from a valid-looking one built from real values (a registered client, its secret,
live tokens, a signed-in session) and is then mutated: parameters dropped, repeated, replaced with
random text, NUL bytes, huge values, forged JWTs; bodies with invalid UTF-8 or the wrong content type;
odd methods and Authorization headers. Whatever arrives, the answer must pass `oracle.problems`:
no 5xx, no stack trace, errors in the protocol's shape, no redirect to an unregistered URI.

All problems are collected and reported together (with the request that caused each), rather than
stopping at the first, so one run shows every distinct failure.
"""

import base64
import json
import os
from collections import Counter
from urllib.parse import urlencode

import pytest
import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.conftest import POST_LOGOUT_URI, REDIRECT_URI
from tests.support.values import altered

from .forgery import forgeries
from .oracle import problems

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.reliability]

# Named presets: CI runs "short"; the soak (`./dev soak`) runs "long" (>= 10,000 generated requests).
PRESETS = {
    "short": int(os.environ.get("SIGNET_HOSTILE_SHORT", "500")),
    "long": int(os.environ.get("SIGNET_HOSTILE_EXAMPLES", "12000")),
}

ENDPOINTS = {
    "authorize": ("/authorize", ["GET", "POST"]),
    "token": ("/token", ["POST"]),
    "userinfo": ("/userinfo", ["GET", "POST"]),
    "introspect": ("/introspect", ["POST"]),
    "revoke": ("/revoke", ["POST"]),
    "end_session": ("/logout", ["GET", "POST"]),
    "discovery": ("/.well-known/openid-configuration", ["GET"]),
    "jwks": ("/jwks", ["GET"]),
}
ODD_METHODS = ["PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "GET", "POST"]

NASTY_TEXT = [
    "\x00",
    "a\x00b",
    "%00",
    "\r\nSet-Cookie: x=1",
    "../../../../etc/passwd",
    "' OR '1'='1",
    '"><script>alert(1)</script>',
    "${jndi:ldap://127.0.0.1:9/x}",
    "{{7*7}}",
    "\u202e\u0000\ufeff",
    "\ud7ff\ue000\U0010ffff",
    "null",
    "[]",
    "{}",
    '{"userinfo": {"email": {"essential": true}}}',
    '{"id_token": null}',
    "-1",
    "0",
    "99999999999999999999999999",
    "1e308",
    "NaN",
    "true",
    " ",
    "",
]
URI_VARIANTS = [
    REDIRECT_URI,
    REDIRECT_URI.upper(),
    REDIRECT_URI + "/",
    REDIRECT_URI + "#frag",
    REDIRECT_URI + "?x=1",
    REDIRECT_URI.replace("https://", "https://evil.example@"),
    REDIRECT_URI.replace("rp.example.com", "rp.example.com:8443"),
    REDIRECT_URI.replace("rp.example.com", "rp.example.com.evil.example"),
    REDIRECT_URI.replace("callback", "%63allback"),
    REDIRECT_URI.replace("rp.example.com", "xn--rp-exmple-9za.com"),
    REDIRECT_URI.replace("https:", "http:"),
    "//evil.example/callback",
    "https://evil.example/callback",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    POST_LOGOUT_URI,
    POST_LOGOUT_URI + "/../../evil",
]
GRANT_TYPES = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "password",
    "implicit",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:token-exchange",
]


# Client ID metadata document URLs (SIGNET_CIMD is on, private addresses refused): each is refused
# before or at the address check, so none is fetched.
DOCUMENT_URLS = [
    "https://localhost/client.json",
    "https://169.254.169.254/latest/meta-data",
    "https://[::1]:8443/client.json",
    "http://rp.example.com/client.json",
    "https://rp.example.com/a/../client.json",
    "https://user@rp.example.com/client.json#x",
]


def _basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Context:
    """Real values for the generator to start from (built once per test from a real code flow)."""

    def __init__(self, flow, public_client):
        self.flow = flow
        genuine_kid = json.loads(base64.urlsafe_b64decode(flow.id_token.split(".")[0] + "==").decode()).get(
            "kid"
        )
        jwks = requests.get(flow.issuer + "/jwks", timeout=10).json()["keys"]
        published = next(k for k in jwks if k["kid"] == genuine_kid)
        self.forged = sorted(
            {**forgeries(flow.id_token, published), **forgeries(flow.access_token, published)}.values()
        )
        self.tokens = [flow.access_token, flow.refresh_token, flow.id_token]
        self.client_ids = [flow.client_id, public_client.client_id, "unknown-client", "", *DOCUMENT_URLS]
        self.secrets = [flow.secret, altered(flow.secret), "", "x" * 200]
        self.session = flow.browser.http.cookies.get("sessionid", "")
        # Built once: hypothesis strategies are cheap to draw from but not to construct.
        self.value_strategy = self._values()
        self.authorization_strategy = self._authorizations()

    def values(self):
        return self.value_strategy

    def authorizations(self):
        return self.authorization_strategy

    def _values(self):
        return st.one_of(
            st.sampled_from(self.tokens),
            st.sampled_from(self.forged),
            st.sampled_from(self.client_ids),
            st.sampled_from(self.secrets),
            st.sampled_from(URI_VARIANTS),
            st.sampled_from(GRANT_TYPES),
            st.sampled_from(NASTY_TEXT),
            st.sampled_from(["openid", "openid profile email offline_access", "admin", "openid " * 200]),
            st.text(max_size=40),
            st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
            st.integers(min_value=2000, max_value=70000).map(lambda n: "A" * n),
        )

    def template(self, endpoint):
        f = self.flow
        return {
            "authorize": [
                ("response_type", "code"),
                ("client_id", f.client_id),
                ("redirect_uri", REDIRECT_URI),
                ("scope", "openid profile"),
                ("state", "s1"),
                ("nonce", "n1"),
                ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                ("code_challenge_method", "S256"),
                ("prompt", "none"),
                ("max_age", "0"),
                ("id_token_hint", f.id_token),
                ("claims", '{"id_token": {"email": null}}'),
                ("resource", "https://api.example.com"),
            ],
            "token": [
                ("grant_type", "authorization_code"),
                ("code", "abc"),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
                ("refresh_token", f.refresh_token),
                ("client_id", f.client_id),
                ("client_secret", f.secret),
                ("scope", "openid"),
                ("resource", "https://api.example.com"),
            ],
            "userinfo": [("access_token", f.access_token), ("schema", "openid")],
            "introspect": [("token", f.access_token), ("token_type_hint", "access_token")],
            "revoke": [
                ("token", f.refresh_token),
                ("token_type_hint", "refresh_token"),
                ("client_id", f.client_id),
            ],
            "end_session": [
                ("id_token_hint", f.id_token),
                ("post_logout_redirect_uri", POST_LOGOUT_URI),
                ("state", "s2"),
                ("client_id", f.client_id),
                ("logout_hint", "alice@example.com"),
            ],
            "discovery": [],
            "jwks": [],
        }[endpoint]

    def _authorizations(self):
        f = self.flow
        return st.one_of(
            st.none(),
            st.just(_basic(f.client_id, f.secret)),
            st.just(_basic(f.client_id, "wrong-secret")),
            st.just(_basic("unknown-client", f.secret)),
            st.text(max_size=30).map(lambda t: "Basic " + base64.b64encode(t.encode()).decode()),
            st.sampled_from(
                ["Basic", "Basic ", "Basic !!!", "Basic " + "A" * 9000, "Basic Og==", "Basic YTo6Og=="]
            ),
            st.sampled_from(self.tokens + self.forged).map(lambda t: "Bearer " + t),
            st.sampled_from(
                ["Bearer", "Bearer ", "bearer x", "Bearer a b", "Bearer " + "B" * 9000, "DPoP x"]
            ),
            st.text(max_size=30),
        )


@st.composite
def hostile_request(draw, ctx):
    endpoint = draw(st.sampled_from(sorted(ENDPOINTS)))
    path, methods = ENDPOINTS[endpoint]
    method = draw(st.sampled_from(methods)) if draw(st.integers(0, 9)) else draw(st.sampled_from(ODD_METHODS))
    pairs = list(ctx.template(endpoint))
    # Mutations: drop some parameters, replace some values, repeat some, add unknown ones.
    pairs = [p for p in pairs if draw(st.integers(0, 4))]
    pairs = [(k, draw(ctx.values())) if not draw(st.integers(0, 3)) else (k, v) for k, v in pairs]
    if pairs and draw(st.booleans()):
        pairs.append(draw(st.sampled_from(pairs)))  # a repeated parameter (RFC 6749 3.1)
    pairs += draw(
        st.lists(
            st.tuples(st.one_of(st.sampled_from(NASTY_TEXT), st.text(max_size=10)), ctx.values()), max_size=2
        )
    )
    headers = {}
    authorization = draw(ctx.authorizations())
    if authorization is not None:
        headers["Authorization"] = authorization
    cookies = {}
    if draw(st.integers(0, 2)) == 0 and ctx.session:
        cookies["sessionid"] = ctx.session
    elif draw(st.integers(0, 5)) == 0:
        cookies["sessionid"] = draw(st.sampled_from(NASTY_TEXT + ["x" * 4000]))
    encoding = draw(st.sampled_from(["form", "form", "query", "json", "raw_bytes", "multipart_lie"]))
    url = ctx.flow.issuer + path
    body = None
    if encoding == "query" or method in ("GET", "HEAD", "OPTIONS", "DELETE", "TRACE"):
        query = urlencode(pairs)
        if encoding == "raw_bytes":
            query += "&junk=%FF%FE%C3%28%00"
        url = f"{url}?{query}" if query else url
    elif encoding == "json":
        headers["Content-Type"] = "application/json"
        body = json.dumps(dict(pairs)).encode()
    else:
        body = urlencode(pairs).encode()
        if encoding == "raw_bytes":
            body += b"&junk=\xff\xfe\xc3\x28\x00&\xc0\xaf=\xed\xa0\x80"
        headers["Content-Type"] = (
            "multipart/form-data; boundary=nope"
            if encoding == "multipart_lie"
            else "application/x-www-form-urlencoded"
        )
    return {
        "endpoint": endpoint,
        "method": method,
        "url": url,
        "headers": headers,
        "cookies": cookies,
        "body": body,
    }


# Known bugs, each reproduced by a strict xfail test in test_hostile_cases.py: a generated request
# that hits one is counted, not failed, so the generator keeps looking for new ones. When a bug is
# fixed its xfail test turns red: remove the xfail there and the entry here.
KNOWN_BUGS = {}


def _latin1_safe(headers):
    """Header values as a client can send them: UTF-8 bytes (requests sends latin-1), no line breaks
    or leading whitespace (requests refuses those, and HTTP/1.1 servers would split the header)."""
    safe = {}
    for name, value in headers.items():
        value = value.replace("\r", "").replace("\n", "").replace("\x00", "%00").lstrip()
        safe[name] = value.encode("utf-8").decode("latin-1")
    return safe


def _describe(req):
    body = req["body"][:300] if req["body"] else b""
    return (
        f"{req['method']} {req['url'][:300]} headers={str(req['headers'])[:200]} "
        f"cookies={str(req['cookies'])[:100]} body={body!r}"
    )


@pytest.mark.parametrize(
    "preset", ["short", pytest.param("long", marks=[pytest.mark.slow, pytest.mark.timeout(3600)])]
)
def test_generated_hostile_requests_never_break_the_provider(flow, public_client, preset, capsys, request):
    django_settings = request.getfixturevalue("settings")  # `settings` here is hypothesis's
    django_settings.SIGNET_CIMD, django_settings.SIGNET_CIMD_ALLOW_PRIVATE = True, False
    ctx = Context(flow, public_client)
    http = requests.Session()
    statuses = Counter()
    known = Counter()
    failures = {}

    @settings(
        max_examples=PRESETS[preset],
        deadline=None,
        database=None,
        derandomize=preset == "short",  # CI stays reproducible; the soak explores new inputs
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(req=hostile_request(ctx))
    def send(req):
        http.cookies.clear()
        headers = dict(req["headers"])
        if req["cookies"]:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in req["cookies"].items())
        try:
            response = http.request(
                req["method"],
                req["url"],
                headers=_latin1_safe(headers),
                data=req["body"],
                allow_redirects=False,
                timeout=30,
            )
        except requests.ConnectionError as e:
            failures.setdefault(("connection", type(e).__name__), _describe(req))
            return
        statuses[(req["endpoint"], response.status_code)] += 1
        for bug, matches in KNOWN_BUGS.items():
            if matches(req, response):
                known[bug] += 1
                return
        for problem in problems(
            req["endpoint"],
            response,
            issuer=ctx.flow.issuer,
            redirect_uris=[REDIRECT_URI],
            post_logout_uris=[POST_LOGOUT_URI],
        ):
            failures.setdefault((req["endpoint"], problem[:80]), _describe(req))

    send()
    total = sum(statuses.values())
    by_status = {f"{e} {s}": n for (e, s), n in sorted(statuses.items())}
    with capsys.disabled():
        print(f"\nFIGURES hostile[{preset}]: {total} generated requests; {json.dumps(by_status)}")
        print(f"FIGURES hostile[{preset}] known bugs hit: {json.dumps(known)}")
    assert total >= PRESETS[preset] * 0.95
    assert {e for e, _ in statuses} == set(ENDPOINTS), "every endpoint was exercised"
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
