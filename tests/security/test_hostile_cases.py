"""The hostile inputs the issue names, one by one, over real HTTP against a live server.

Repeated parameters (RFC 6749 3.1: invalid_request), a 1 MB parameter, invalid UTF-8, NUL bytes,
malformed and forged JWTs as `id_token_hint` and as bearer tokens (`alg: none` among them), and
oversized headers. Every answer must also pass the generic oracle (no 5xx, no stack trace, the
protocol's error shape, no open redirect).
"""

import base64
import json

import pytest
import requests

from tests.conftest import POST_LOGOUT_URI, REDIRECT_URI
from tests.support.browser import pkce_pair

from .conftest import get_code
from .forgery import forgeries
from .oracle import problems

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.reliability]

MEGABYTE = "A" * (1024 * 1024)


def ok(endpoint, response, issuer):
    found = problems(
        endpoint, response, issuer=issuer, redirect_uris=[REDIRECT_URI], post_logout_uris=[POST_LOGOUT_URI]
    )
    assert found == [], f"{response.status_code} {response.text[:300]}"
    return response


def signed_in(flow):
    """Whether the flow's browser session is still signed in (the account page answers 200)."""
    return (
        flow.browser.http.get(
            flow.issuer + "/accounts/profile/", allow_redirects=False, timeout=10
        ).status_code
        == 200
    )


def error_of(response):
    if response.status_code in (301, 302, 303):
        from tests.support.browser import query

        return query(response.headers["Location"]).get("error")
    try:
        return response.json().get("error")
    except ValueError:
        return None


# --- repeated parameters (RFC 6749 3.1) ---------------------------------------------------------


def test_repeated_token_parameter_is_invalid_request(flow, user):
    accepted = []
    for repeated in ["grant_type", "code", "redirect_uri", "code_verifier", "client_id"]:
        code, verifier = get_code(flow.browser, flow.client_id, email=user.email)
        pairs = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT_URI),
            ("code_verifier", verifier),
            ("client_id", flow.client_id),
            ("client_secret", flow.secret),
        ]
        pairs.append(next(p for p in pairs if p[0] == repeated))
        response = ok("token", requests.post(f"{flow.issuer}/token", data=pairs, timeout=30), flow.issuer)
        if response.status_code != 400 or response.json()["error"] != "invalid_request":
            accepted.append((repeated, response.status_code))
    for repeated in ["refresh_token", "grant_type"]:
        pairs = [("grant_type", "refresh_token"), ("refresh_token", flow.refresh_token)]
        pairs.append(next(p for p in pairs if p[0] == repeated))
        response = ok(
            "token",
            requests.post(f"{flow.issuer}/token", data=pairs, auth=(flow.client_id, flow.secret), timeout=30),
            flow.issuer,
        )
        if response.status_code != 400 or response.json()["error"] != "invalid_request":
            accepted.append((repeated, response.status_code))
        if response.status_code == 200:
            flow.refresh_token = response.json()["refresh_token"]
    assert accepted == []


def test_repeated_authorize_parameter_is_invalid_request(flow):
    for repeated in [
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "nonce",
    ]:
        _verifier, challenge = pkce_pair()
        pairs = [
            ("response_type", "code"),
            ("client_id", flow.client_id),
            ("redirect_uri", REDIRECT_URI),
            ("scope", "openid"),
            ("state", "s"),
            ("nonce", "n"),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]
        pairs.append(next(p for p in pairs if p[0] == repeated))
        response = ok(
            "authorize",
            flow.browser.http.get(
                f"{flow.issuer}/authorize", params=pairs, allow_redirects=False, timeout=30
            ),
            flow.issuer,
        )
        # An error page (the redirect URI is not trustworthy) or an error redirect: never a code.
        assert response.status_code in (302, 400), (repeated, response.status_code)
        if response.status_code == 302:
            assert error_of(response) == "invalid_request", repeated
        assert "code=" not in response.headers.get("Location", ""), repeated


@pytest.mark.parametrize("endpoint,path", [("revoke", "/revoke"), ("introspect", "/introspect")])
def test_repeated_token_parameter_at_revoke_and_introspect_is_refused(flow, endpoint, path):
    pairs = [("token", flow.access_token), ("token", flow.refresh_token)]
    response = ok(
        endpoint,
        requests.post(flow.issuer + path, data=pairs, auth=(flow.client_id, flow.secret), timeout=30),
        flow.issuer,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# --- a 1 MB parameter, invalid UTF-8, NUL bytes -------------------------------------------------

BODY_ENDPOINTS = [
    ("token", "/token", "grant_type=authorization_code&code={v}&redirect_uri=" + REDIRECT_URI),
    ("token", "/token", "grant_type=refresh_token&refresh_token={v}"),
    ("token", "/token", "grant_type=client_credentials&scope={v}"),
    ("revoke", "/revoke", "token={v}&token_type_hint=refresh_token"),
    ("introspect", "/introspect", "token={v}"),
    ("userinfo", "/userinfo", "access_token={v}"),
    ("end_session", "/logout", "id_token_hint={v}&post_logout_redirect_uri=" + POST_LOGOUT_URI),
]


HOSTILE_VALUES = {
    "1MB": MEGABYTE,
    "invalid-utf8-escaped": "%FF%FE%C3%28%ED%A0%80",
    "invalid-utf8-raw": "\udcff",
    "nul-escaped": "%00",
    "nul-inside": "abc%00def",
}


@pytest.mark.parametrize("value_name", sorted(HOSTILE_VALUES))
def test_hostile_values_in_form_bodies(issuer, rp_client, value_name):
    client, secret = rp_client
    value = HOSTILE_VALUES[value_name]
    for endpoint, path, body in BODY_ENDPOINTS:
        if "%00" in value and "code={v}" in body:
            continue  # test_nul_in_code_at_token
        raw = body.format(v=value).encode("utf-8", "surrogateescape")
        response = requests.post(
            issuer + path,
            data=raw,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            auth=(client.client_id, secret),
            timeout=60,
        )
        ok(endpoint, response, issuer)
        assert response.status_code != 200 or endpoint in ("revoke", "introspect", "end_session"), path
        if endpoint == "introspect" and response.status_code == 200:
            assert response.json() == {"active": False}


AUTHORIZE_VALUES = [  # client_id with NUL: test_nul_in_client_id
    ("redirect_uri", REDIRECT_URI + "\x00"),
    ("scope", "openid\x00"),
    ("state", "s\x00"),
    ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c\x00"),
    ("nonce", "\x00"),
    ("nonce", "n" * 300),  # longer than the code row's column
    ("login_hint", "alice@example.com\x00"),
    ("id_token_hint", "a\x00.b.c"),
    ("claims", '{"userinfo": {"email\x00": null}}'),
    ("resource", "https://api.example.com\x00"),
    ("client_id", MEGABYTE[:30000]),
    ("redirect_uri", "%FF%FE"),
    ("max_age", "99999999999999999999999999999"),
    ("prompt", "none login consent select_account \x00"),
]


def test_hostile_values_at_authorize(flow):
    for field, value in AUTHORIZE_VALUES:
        _verifier, challenge = pkce_pair()
        params = {
            "response_type": "code",
            "client_id": flow.client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "state": "s",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            field: value,
        }
        # With a signed-in session (deep into the flow) and without one (towards the login page).
        for http in (flow.browser.http, requests.Session()):
            response = http.get(f"{flow.issuer}/authorize", params=params, allow_redirects=False, timeout=30)
            assert problems("authorize", response, issuer=flow.issuer, redirect_uris=[REDIRECT_URI]) == [], (
                field,
                value[:50],
                response.status_code,
            )
            if field not in ("state", "nonce", "login_hint", "max_age"):
                assert "code=" not in response.headers.get("Location", ""), f"a code despite a bad {field}"


def test_hostile_values_at_login(issuer, user):
    from tests.support.browser import Browser

    for email in ["\x00", "alice@example.com\x00", "a" * 100000 + "@example.com", "%FF", "é@ü.example"]:
        browser = Browser(issuer)
        page = browser.get("/accounts/login/")
        response = browser.submit(page, {"username": email, "password": "x\x00y"})
        assert response.status_code < 500, email[:40]
        assert problems("login", response, issuer=issuer) == [], email[:40]


@pytest.mark.parametrize(
    "client_id,secret",
    [("x", "\x00"), ("é", "ü"), ("A" * 70000, "x"), (":", ":")],  # NUL client ids: test_nul_in_client_id
)
def test_hostile_client_credentials_in_basic_auth(issuer, rp_client, client_id, secret):
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    for endpoint, path in [("token", "/token"), ("revoke", "/revoke"), ("introspect", "/introspect")]:
        response = requests.post(
            issuer + path,
            data={"grant_type": "client_credentials", "token": "x"},
            headers={"Authorization": f"Basic {credentials}"},
            timeout=30,
        )
        ok(endpoint, response, issuer)
        # 431: the HTTP server refuses a header this large before Signet sees it.
        assert response.status_code in (400, 401, 431), (endpoint, response.status_code)


# --- forged and malformed JWTs ------------------------------------------------------------------


def _forgeries(flow, token):
    kid = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==").decode())["kid"]
    jwks = requests.get(flow.issuer + "/jwks", timeout=10).json()["keys"]
    return forgeries(token, next(k for k in jwks if k["kid"] == kid))


def test_forged_bearer_tokens_are_refused_at_userinfo_and_introspection(flow):
    forged = _forgeries(flow, flow.access_token)
    assert len(forged) > 40
    accepted = []
    for name, token in forged.items():
        header = ("Bearer " + token.replace("\x00", "%00")).encode()
        response = ok(
            "userinfo",
            requests.get(f"{flow.issuer}/userinfo", headers={"Authorization": header}, timeout=30),
            flow.issuer,
        )
        if response.status_code == 200:
            accepted.append(("userinfo", name))
        elif response.status_code == 401 and name != "empty":
            # RFC 6750 3.1 (an empty token is no token: a bare challenge is right for it).
            assert 'error="invalid_token"' in response.headers["WWW-Authenticate"], name
        introspection = ok(
            "introspect",
            requests.post(
                f"{flow.issuer}/introspect",
                data={"token": token},
                auth=(flow.client_id, flow.secret),
                timeout=30,
            ),
            flow.issuer,
        )
        if introspection.status_code == 200 and introspection.json().get("active"):
            accepted.append(("introspect", name))
    assert accepted == []
    # The genuine token is still accepted: the refusals above were about the forgeries.
    genuine = requests.get(
        f"{flow.issuer}/userinfo", headers={"Authorization": f"Bearer {flow.access_token}"}, timeout=30
    )
    assert genuine.status_code == 200


def test_forged_id_token_hints_never_log_out_or_redirect(flow):
    forged = _forgeries(flow, flow.id_token)
    for name, token in forged.items():
        for method in ("GET", "POST"):
            params = {"id_token_hint": token, "post_logout_redirect_uri": POST_LOGOUT_URI, "state": "x"}
            response = flow.browser.http.request(
                method,
                f"{flow.issuer}/logout",
                **({"params": params} if method == "GET" else {"data": params}),
                allow_redirects=False,
                timeout=30,
            )
            ok("end_session", response, flow.issuer)
            assert not response.headers.get("Location", "").startswith(POST_LOGOUT_URI), name
        assert signed_in(flow), f"a forged id_token_hint ({name}) signed the user out"


def test_forged_id_token_hints_at_authorize_never_give_a_code(flow):
    forged = _forgeries(flow, flow.id_token)
    del forged["empty"]  # an empty hint is no hint: the signed-in session rightly gets a code
    for name, token in forged.items():
        _verifier, challenge = pkce_pair()
        response = ok(
            "authorize",
            flow.browser.http.get(
                f"{flow.issuer}/authorize",
                params={
                    "response_type": "code",
                    "client_id": flow.client_id,
                    "redirect_uri": REDIRECT_URI,
                    "scope": "openid",
                    "state": "s",
                    "prompt": "none",
                    "id_token_hint": token,
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                },
                allow_redirects=False,
                timeout=30,
            ),
            flow.issuer,
        )
        assert "code=" not in response.headers.get("Location", ""), f"a code for a forged hint ({name})"


# --- oversized headers --------------------------------------------------------------------------


ODD_HEADERS = {
    "60KB-bearer": {"Authorization": "Bearer " + "a" * 60000},
    "60KB-basic": {"Authorization": "Basic " + "Q" * 60000},
    "60KB-cookie": {"Cookie": "sessionid=" + "s" * 60000},
    "90-headers": {f"X-Junk-{n}": "j" * 1000 for n in range(90)},
    "60KB-request-id": {"X-Request-ID": "r" * 60000},
    "long-forwarded-for": {"X-Forwarded-For": ", ".join(["10.0.0.1"] * 5000)},
}


def test_oversized_and_odd_headers(issuer, rp_client):
    client, _secret = rp_client
    for name, headers in ODD_HEADERS.items():
        for endpoint, method, path in [
            ("userinfo", "GET", "/userinfo"),
            ("token", "POST", "/token"),
            ("authorize", "GET", "/authorize?client_id=" + client.client_id),
            ("discovery", "GET", "/.well-known/openid-configuration"),
            ("jwks", "GET", "/jwks"),
        ]:
            try:
                response = requests.request(method, issuer + path, headers=headers, timeout=30)
            except requests.ConnectionError:
                continue  # the HTTP server itself may drop a request this large: that is not a 5xx
            found = problems(endpoint, response, issuer=issuer, redirect_uris=[REDIRECT_URI])
            assert found == [], (name, endpoint, response.status_code)


def test_foreign_host_header_is_refused_before_any_endpoint(issuer):
    for path in ["/token", "/userinfo", "/authorize", "/jwks"]:
        response = requests.get(issuer + path, headers={"Host": "evil.example"}, timeout=30)
        # Not addressed to this provider: Django refuses it (DisallowedHost), with no detail.
        assert response.status_code == 400
        assert problems("other", response, issuer=issuer) == []
        assert "evil.example" not in response.text


# --- methods and bodies the endpoints do not expect ---------------------------------------------


def test_put_at_authorize_with_a_session(flow):
    response = flow.browser.http.request(
        "PUT",
        f"{flow.issuer}/authorize",
        data=b"",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        allow_redirects=False,
        timeout=30,
    )
    ok("authorize", response, flow.issuer)
    assert "code=" not in response.headers.get("Location", "")


@pytest.mark.parametrize(
    "content_type,body",
    [
        ("multipart/form-data", b"grant_type=client_credentials"),
        ("multipart/form-data; boundary=nope", b"grant_type=" + b"A" * 3000),
    ],
)
def test_malformed_multipart_body_at_token(issuer, rp_client, content_type, body):
    client, secret = rp_client
    response = requests.post(
        f"{issuer}/token",
        data=body,
        headers={"Content-Type": content_type},
        auth=(client.client_id, secret),
        timeout=30,
    )
    ok("token", response, issuer)


# --- NUL bytes where the database looks them up -------------------------------------------------


@pytest.mark.parametrize("client_id", ["\x00", "client\x00id"])
def test_nul_in_client_id(issuer, rp_client, client_id):
    _verifier, challenge = pkce_pair()
    authorize = requests.get(
        f"{issuer}/authorize",
        params={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        allow_redirects=False,
        timeout=30,
    )
    ok("authorize", authorize, issuer)
    credentials = base64.b64encode(f"{client_id}:secret".encode()).decode()
    for endpoint, path in [("token", "/token"), ("revoke", "/revoke"), ("introspect", "/introspect")]:
        data = {"grant_type": "client_credentials", "token": "x"}
        basic = requests.post(
            issuer + path, data=data, headers={"Authorization": f"Basic {credentials}"}, timeout=30
        )
        ok(endpoint, basic, issuer)
        post = requests.post(
            issuer + path, data={**data, "client_id": client_id, "client_secret": "s"}, timeout=30
        )
        ok(endpoint, post, issuer)
    logout = requests.get(
        f"{issuer}/logout", params={"client_id": client_id}, allow_redirects=False, timeout=30
    )
    ok("end_session", logout, issuer)


@pytest.mark.parametrize("code", ["\x00", "abc\x00def"])
def test_nul_in_code_at_token(issuer, rp_client, code):
    client, secret = rp_client
    response = requests.post(
        f"{issuer}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(client.client_id, secret),
        timeout=30,
    )
    ok("token", response, issuer)
    assert response.json()["error"] in ("invalid_grant", "invalid_request")


def test_malformed_multipart_body_at_userinfo(flow):
    response = requests.post(
        f"{flow.issuer}/userinfo",
        data=b"schema=openid",
        headers={"Content-Type": "multipart/form-data", "Authorization": f"Bearer {flow.access_token}"},
        timeout=30,
    )
    ok("userinfo", response, flow.issuer)
