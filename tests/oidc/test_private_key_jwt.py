"""private_key_jwt client authentication (RFC 7523 2.2 and 3, OIDC Core 9) at /token, /introspect and
/revoke, over real HTTP against the live server. Keys are generated here with `cryptography`."""

import json
import secrets
import threading
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from django.core.exceptions import ValidationError

from tests.conftest import REDIRECT_URI
from tests.support.https_server import HttpsServer as JwksServer
from tests.support.raw_http import send
from tests.tokens.conftest import basic, mint_code

pytestmark = pytest.mark.django_db(transaction=True)

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class Signer:
    """A client's key pair: its public JWK (with a fixed kid) and assertions signed with it."""

    def __init__(self, alg, kid):
        self.alg, self.kid = alg, kid
        if alg in ("RS256", "PS256"):
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        elif alg == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.private.public_key()))
        else:
            self.private = ed25519.Ed25519PrivateKey.generate()
            self.jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(self.private.public_key()))
        self.jwk["kid"] = kid

    def claims(self, client_id, aud, **overrides):
        now = int(time.time())
        claims = {"iss": client_id, "sub": client_id, "aud": aud, "jti": str(uuid.uuid4()), "iat": now}
        claims["exp"] = now + 120
        claims.update(overrides)
        return {k: v for k, v in claims.items() if v is not None}

    def assertion(self, client_id, aud, *, headers=None, **overrides):
        return jwt.encode(
            self.claims(client_id, aud, **overrides),
            self.private,
            algorithm=self.alg,
            headers={"kid": self.kid, **(headers or {})},
        )


@pytest.fixture(scope="module")
def signers():
    return {alg: Signer(alg, f"{alg.lower()}-key") for alg in ("RS256", "ES256", "PS256", "EdDSA")}


def register(*, grant="client-credentials", jwks=None, jwks_uri="", **kw):
    from provider.oidc.services import client_create

    if grant == "authorization-code":
        kw.setdefault("redirect_uris", [REDIRECT_URI])
    client, secret = client_create(
        name="Key client " + secrets.token_hex(3),
        client_type="confidential",
        grant=grant,
        auth_method="private_key_jwt",
        jwks=jwks,
        jwks_uri=jwks_uri,
        **kw,
    )
    assert secret is None  # a private_key_jwt client has no secret
    return client


def secret_client():
    from provider.oidc.services import client_create

    return client_create(name="Secret client", client_type="confidential", grant="client-credentials")


def with_assertion(assertion, **data):
    return {"client_assertion_type": JWT_BEARER, "client_assertion": assertion, **data}


def client_credentials(issuer, assertion, **kw):
    data = with_assertion(assertion, grant_type="client_credentials")
    return requests.post(f"{issuer}/token", data=data, timeout=30, **kw)


def refused(response):
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_client"
    return True


def last_failure_reason():
    from provider.audit.models import AuditEvent

    row = AuditEvent.objects.filter(event="client.authentication_failed").first()
    return row.data.get("reason") if row else None


# --- accepted assertions ------------------------------------------------------------------------
@pytest.mark.parametrize("alg", ["RS256", "ES256", "PS256", "EdDSA"])
def test_client_credentials_with_an_assertion(issuer, signers, alg):
    signer = signers[alg]
    client = register(jwks={"keys": [signer.jwk]})
    response = client_credentials(issuer, signer.assertion(client.client_id, f"{issuer}/token"))
    assert response.status_code == 200, response.text
    claims = jwt.decode(response.json()["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == claims["sub"] == client.client_id


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_code_exchange_with_an_assertion(issuer, signers, user, alg):
    signer = signers[alg]
    client = register(grant="authorization-code", jwks={"keys": [signer.jwk]})
    code, verifier = mint_code(client, user)
    data = with_assertion(
        signer.assertion(client.client_id, issuer),
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT_URI,
        code_verifier=verifier,
        client_id=client.client_id,  # optional, and then it must name the same client (RFC 7521 4.2)
    )
    response = requests.post(f"{issuer}/token", data=data, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["id_token"]


def test_the_audience_may_be_a_list_holding_the_token_endpoint(issuer, signers):
    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]})
    aud = ["https://elsewhere.example", f"{issuer}/token"]
    assert client_credentials(issuer, signer.assertion(client.client_id, aud)).status_code == 200


def test_a_key_set_of_one_key_needs_no_kid(issuer, signers):
    signer = signers["ES256"]
    jwk = {k: v for k, v in signer.jwk.items() if k != "kid"}
    client = register(jwks={"keys": [jwk]})
    assertion = jwt.encode(
        signer.claims(client.client_id, issuer), signer.private, algorithm="ES256", headers={}
    )
    assert client_credentials(issuer, assertion).status_code == 200


# --- refused assertions -------------------------------------------------------------------------
def _forged_none(signer, client_id, aud):
    header = jwt.utils.base64url_encode(json.dumps({"alg": "none", "kid": signer.kid}).encode())
    body = jwt.utils.base64url_encode(json.dumps(signer.claims(client_id, aud)).encode())
    return (header + b"." + body + b".").decode()


def _hs256_with_public_key(signer, client_id, aud):
    """The classic confusion: HMAC keyed with the public key's bytes (RFC 8725 2.1)."""
    import hashlib
    import hmac

    pem = signer.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = jwt.utils.base64url_encode(json.dumps({"alg": "HS256", "kid": signer.kid}).encode())
    body = jwt.utils.base64url_encode(json.dumps(signer.claims(client_id, aud)).encode())
    signature = hmac.new(pem, header + b"." + body, hashlib.sha256).digest()
    return (header + b"." + body + b"." + jwt.utils.base64url_encode(signature)).decode()


def _other_key(signer, client_id, aud):
    impostor = Signer("RS256", signer.kid)  # same kid, another key: the signature cannot verify
    return impostor.assertion(client_id, aud)


REFUSALS = {
    "wrong aud": (
        lambda s, c, a: s.assertion(c, "https://other-server.example/token"),
        "aud is not this server",
    ),
    "iss is not sub": (lambda s, c, a: s.assertion(c, a, sub="someone-else"), "iss is not sub"),
    "expired": (lambda s, c, a: s.assertion(c, a, exp=int(time.time()) - 5), "exp missing or past"),
    "no exp": (lambda s, c, a: s.assertion(c, a, exp=None), "exp missing or past"),
    "exp too far ahead": (
        lambda s, c, a: s.assertion(c, a, exp=int(time.time()) + 3600),
        "exp too far ahead",
    ),
    "iat in the future": (
        lambda s, c, a: s.assertion(c, a, iat=int(time.time()) + 600),
        "iat in the future",
    ),
    "no jti": (lambda s, c, a: s.assertion(c, a, jti=None), "jti missing"),
    "bad signature": (_other_key, "bad signature"),
    "alg none": (_forged_none, "algorithm not allowed for the key"),
    "HS256 with the public key": (_hs256_with_public_key, "algorithm not allowed for the key"),
    "unknown kid": (lambda s, c, a: s.assertion(c, a, headers={"kid": "no-such-kid"}), "unknown kid"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_refused_assertions(issuer, signers, case):
    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]})
    make, reason = REFUSALS[case]
    response = client_credentials(issuer, make(signer, client.client_id, f"{issuer}/token"))
    assert refused(response)
    assert response.headers["Cache-Control"] == "no-store"
    assert last_failure_reason() == reason
    # The same client with a good assertion still gets in: only the bad one was refused.
    good = client_credentials(issuer, signer.assertion(client.client_id, f"{issuer}/token"))
    assert good.status_code == 200


def test_a_registered_signing_alg_pins_the_algorithm(issuer, signers):
    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]}, signing_alg="PS256")
    assert refused(client_credentials(issuer, signer.assertion(client.client_id, issuer)))
    ps = Signer("PS256", signer.kid)
    ps.private, ps.jwk = signer.private, signer.jwk  # the same RSA key, signing with PS256
    assert client_credentials(issuer, ps.assertion(client.client_id, issuer)).status_code == 200


def test_a_reused_jti_is_refused(issuer, signers):
    signer = signers["ES256"]
    client = register(jwks={"keys": [signer.jwk]})
    assertion = signer.assertion(client.client_id, issuer)
    assert client_credentials(issuer, assertion).status_code == 200
    assert refused(client_credentials(issuer, assertion))
    assert last_failure_reason() == "jti reused"


@pytest.mark.postgres
def test_two_concurrent_uses_of_one_assertion_exactly_one_wins(issuer, signers):
    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]})
    assertion = signer.assertion(client.client_id, issuer)
    n = 6
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        results[i] = client_credentials(issuer, assertion).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == [200] + [401] * (n - 1)


def test_a_secret_client_cannot_use_an_assertion(issuer, signers):
    signer = signers["RS256"]
    client, _secret = secret_client()
    assert refused(client_credentials(issuer, signer.assertion(client.client_id, issuer)))
    assert last_failure_reason() == "client is not registered for private_key_jwt"


def test_a_private_key_jwt_client_cannot_use_a_secret(issuer, signers):
    from provider.oidc import client_cache
    from provider.oidc.models import Client

    client, secret = secret_client()
    assert client_credentials_with_secret(issuer, client.client_id, secret).status_code == 200
    # Switched to keys behind the services' back: the old secret is still stored, and still refused.
    Client.objects.filter(pk=client.pk).update(
        token_endpoint_auth_method="private_key_jwt", jwks={"keys": [signers["RS256"].jwk]}
    )
    client_cache.clear()  # update() sends no signal; a deployment waits SIGNET_CLIENT_CACHE_SECONDS
    assert refused(client_credentials_with_secret(issuer, client.client_id, secret))
    body = {"grant_type": "client_credentials", "client_id": client.client_id, "client_secret": secret}
    assert refused(requests.post(f"{issuer}/token", data=body, timeout=30))


def client_credentials_with_secret(issuer, client_id, secret):
    return requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        headers=basic(client_id, secret),
        timeout=30,
    )


def test_an_assertion_and_a_secret_at_once_are_refused(issuer, signers):
    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]})
    assertion = signer.assertion(client.client_id, issuer)
    response = client_credentials(issuer, assertion, headers=basic(client.client_id, "x" * 40))
    assert refused(response)
    assert response.headers["WWW-Authenticate"].startswith("Basic ")  # RFC 6749 5.2
    # The assertion was not spent by the refused request.
    assert client_credentials(issuer, assertion).status_code == 200


def test_a_client_id_naming_another_client_is_refused(issuer, signers):
    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]})
    data = with_assertion(
        signer.assertion(client.client_id, issuer), grant_type="client_credentials", client_id="other"
    )
    assert refused(requests.post(f"{issuer}/token", data=data, timeout=30))


def test_a_disabled_client_is_refused(issuer, signers):
    from provider.oidc.services import client_set_active

    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]})
    client_set_active(client=client, active=False)
    assert refused(client_credentials(issuer, signer.assertion(client.client_id, issuer)))


# --- introspection and revocation ---------------------------------------------------------------
def test_introspection_and_revocation_authenticated_by_assertion(issuer, signers):
    signer = signers["ES256"]
    client = register(jwks={"keys": [signer.jwk]})
    access_token = client_credentials(issuer, signer.assertion(client.client_id, issuer)).json()[
        "access_token"
    ]

    def call(endpoint, assertion):
        data = with_assertion(assertion, token=access_token)
        return requests.post(f"{issuer}/{endpoint}", data=data, timeout=30)

    answer = call("introspect", signer.assertion(client.client_id, f"{issuer}/token"))
    assert answer.status_code == 200 and answer.json()["active"] is True
    assert refused(call("introspect", signer.assertion(client.client_id, "https://nope.example")))
    assert refused(call("revoke", signer.assertion(client.client_id, issuer, sub="x")))
    assert call("introspect", signer.assertion(client.client_id, issuer)).json()["active"] is True

    assert call("revoke", signer.assertion(client.client_id, issuer)).status_code == 200
    assert call("introspect", signer.assertion(client.client_id, issuer)).json() == {"active": False}


# --- registration -------------------------------------------------------------------------------
@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "k"])
def test_a_private_key_in_the_registered_jwks_is_refused(db, signers, member):
    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signers["RS256"].private))
    jwk = {**signers["RS256"].jwk, member: private.get(member, "c2VjcmV0")}
    with pytest.raises(ValidationError) as error:
        register(jwks={"keys": [jwk]})
    assert "private members" in str(error.value.message_dict["jwks"])
    assert private["d"] not in str(error.value)  # the refusal never repeats the key


@pytest.mark.parametrize(
    ("settings_", "field"),
    [
        ({"jwks": None}, "jwks"),
        ({"jwks": {"keys": []}}, "jwks"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "jwks"),
        ({"jwks": None, "jwks_uri": "http://keys.example/jwks"}, "jwks_uri"),
        ({"signing_alg": "ES256"}, None),  # an RSA key cannot verify ES256: refused at use, not here
    ],
)
def test_registration_refusals(db, signers, settings_, field):
    kw = {"jwks": {"keys": [signers["RS256"].jwk]}, **settings_}
    if field is None:
        register(**kw)
        return
    with pytest.raises(ValidationError) as error:
        register(**kw)
    assert list(error.value.message_dict) == [field]


def test_two_keys_without_kids_are_refused(db, signers):
    keys = [{k: v for k, v in signers[alg].jwk.items() if k != "kid"} for alg in ("RS256", "ES256")]
    with pytest.raises(ValidationError) as error:
        register(jwks={"keys": keys})
    assert "kid" in error.value.message_dict["jwks"][0]


# --- discovery ----------------------------------------------------------------------------------
def test_discovery_lists_private_key_jwt_and_exactly_the_accepted_algorithms(issuer):
    from provider.oidc import client_keys

    meta = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    for name in ("token", "introspection", "revocation"):
        assert "private_key_jwt" in meta[f"{name}_endpoint_auth_methods_supported"]
    accepted = {
        alg
        for jwk in ({"kty": "RSA"}, {"kty": "EC", "crv": "P-256"}, {"kty": "OKP", "crv": "Ed25519"})
        for alg in client_keys.key_algorithms(jwk)
    }
    assert set(meta["token_endpoint_auth_signing_alg_values_supported"]) == accepted
    assert "none" not in accepted and not any(a.startswith("HS") for a in accepted)


# --- hostile input ------------------------------------------------------------------------------
HOSTILE = [
    b"",
    b"%00",
    b"a.b.c",
    b"....",
    b"eyJhbGciOiJub25lIn0.e30.",
    b"eyJhbGciOiJSUzI1NiJ9.W10.c2ln",  # claims are a JSON array
    b"eyJhbGciOiJSUzI1NiIsImtpZCI6MX0.eyJpc3MiOiJ4Iiwic3ViIjoieCJ9.c2ln",  # kid is a number
    b"%FF%FE.%80.%C0",
    b"x" * 20000,
    b"W1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tbW1tb" * 200 + b".e30.c2ln",
]


@pytest.mark.parametrize("raw", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_assertions_are_invalid_client_never_a_500(issuer, signers, raw):
    register(jwks={"keys": [signers["RS256"].jwk]})
    body = b"grant_type=client_credentials&client_assertion_type=" + JWT_BEARER.replace(":", "%3A").encode()
    body += b"&client_assertion=" + raw
    response = send(
        issuer,
        "POST",
        b"/token",
        headers=[("Content-Type", b"application/x-www-form-urlencoded")],
        body=body,
    )
    assert response.status_code in (400, 401), response.text
    assert response.json()["error"] in ("invalid_client", "invalid_request")
    if b"%FF" not in raw:  # undecodable bytes are refused earlier, as invalid_request
        assert response.json()["error"] == "invalid_client"


def test_a_wrong_assertion_type_is_refused(issuer, signers):
    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]})
    data = {
        "grant_type": "client_credentials",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        "client_assertion": signer.assertion(client.client_id, issuer),
    }
    assert refused(requests.post(f"{issuer}/token", data=data, timeout=30))


def test_no_assertion_or_key_in_logs_or_audit_rows(issuer, signers, caplog):
    from provider.audit.models import AuditEvent

    caplog.set_level("DEBUG")
    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]})
    good = signer.assertion(client.client_id, issuer)
    bad = signer.assertion(client.client_id, "https://nope.example")
    assert client_credentials(issuer, good).status_code == 200
    assert refused(client_credentials(issuer, good))
    assert refused(client_credentials(issuer, bad))
    rows = json.dumps([[r.event, r.client_id, r.data] for r in AuditEvent.objects.all()])
    assert "jti reused" in rows and "aud is not this server" in rows  # the failures were audited
    for secret in (good, bad, good.split(".")[2], bad.split(".")[1], signer.jwk["n"]):
        assert secret not in caplog.text
        assert secret not in rows


# --- purge --------------------------------------------------------------------------------------
def test_purge_forgets_the_jtis_of_expired_assertions(issuer, signers):
    from datetime import timedelta

    from django.utils import timezone

    from provider.oidc.housekeeping import tokens_purge
    from provider.oidc.models import ClientAssertionJti

    signer = signers["RS256"]
    client = register(jwks={"keys": [signer.jwk]})
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200
    assert tokens_purge()["client_assertion_jtis"] == 0
    report = tokens_purge(now=timezone.now() + timedelta(seconds=200))
    assert report["client_assertion_jtis"] == 1
    assert not ClientAssertionJti.objects.exists()


# --- jwks_uri: a small local https server -------------------------------------------------------
class Clock:
    """client_keys' monotonic clock, moved by hand: cache lifetimes and refetch spacing without sleeping."""

    def __init__(self):
        self.offset = 0.0

    def __call__(self):
        return time.monotonic() + self.offset


@pytest.fixture
def jwks_server(tmp_path, monkeypatch, settings):
    from provider.oidc import client_keys

    server = JwksServer(tmp_path)
    # The fetch trusts the system's store; OpenSSL reads SSL_CERT_FILE when a context loads it.
    monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
    settings.SIGNET_ALLOW_PRIVATE_JWKS_URI = True  # the server is on loopback
    clock = Clock()
    monkeypatch.setattr(client_keys, "clock", clock)
    server.clock = clock
    client_keys.clear()
    yield server
    client_keys.clear()
    server.close()


def test_jwks_uri_keys_are_fetched_cached_and_refetched_once_for_a_new_kid(issuer, jwks_server):
    first, second = Signer("RS256", "rotation-1"), Signer("ES256", "rotation-2")
    jwks_server.jwks = {"keys": [first.jwk]}
    client = register(jwks_uri=jwks_server.url)

    assert client_credentials(issuer, first.assertion(client.client_id, issuer)).status_code == 200
    assert client_credentials(issuer, first.assertion(client.client_id, issuer)).status_code == 200
    assert jwks_server.hits == 1  # cached (max-age=3600)

    # The client rotates: it publishes its new key and signs with it.
    jwks_server.jwks = {"keys": [second.jwk, first.jwk]}
    jwks_server.clock.offset += 10
    assert client_credentials(issuer, second.assertion(client.client_id, issuer)).status_code == 200
    assert jwks_server.hits == 2  # one refetch for the new kid
    assert client_credentials(issuer, second.assertion(client.client_id, issuer)).status_code == 200
    assert jwks_server.hits == 2

    # Made-up kids right after a fetch do not turn into requests to the client's server.
    for _ in range(3):
        made_up = first.assertion(client.client_id, issuer, headers={"kid": secrets.token_hex(4)})
        assert refused(client_credentials(issuer, made_up))
    assert jwks_server.hits == 2


def test_jwks_uri_cache_follows_max_age_within_bounds(issuer, jwks_server):
    from provider.oidc import client_keys

    signer = Signer("ES256", "cached")
    jwks_server.jwks, jwks_server.cache_control = {"keys": [signer.jwk]}, "public, max-age=90"
    client = register(jwks_uri=jwks_server.url)
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200
    jwks_server.clock.offset += 80
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200
    assert jwks_server.hits == 1
    jwks_server.clock.offset += 20
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200
    assert jwks_server.hits == 2

    assert client_keys.cache_lifetime("max-age=5") == client_keys.MIN_CACHE_SECONDS
    assert client_keys.cache_lifetime("max-age=99999999") == client_keys.MAX_CACHE_SECONDS
    assert client_keys.cache_lifetime("no-store") == client_keys.MIN_CACHE_SECONDS
    assert client_keys.cache_lifetime(None) == client_keys.DEFAULT_CACHE_SECONDS
    assert client_keys.cache_lifetime("s-maxage=10, max-age=600") == 600


@pytest.mark.parametrize(
    ("serve", "reason"),
    [
        ({"status": 302}, "answered 302"),  # redirects are not followed
        ({"status": 500}, "answered 500"),
        ({"body": b"[" * 100 + b"]" * 100}, "did not serve a usable JWK Set"),
        ({"body": b"not json"}, "did not serve JSON"),
        ({"body": b" " * (70 * 1024)}, "larger than"),
        ("private", "private members"),
    ],
)
def test_a_bad_jwks_uri_answer_refuses_the_client(issuer, jwks_server, serve, reason):
    signer = Signer("RS256", "bad-answers")
    if serve == "private":
        jwks_server.jwks = {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signer.private))}]}
    else:
        jwks_server.jwks = {"keys": [signer.jwk]}
        for name, value in serve.items():
            setattr(jwks_server, name, value)
    client = register(jwks_uri=jwks_server.url)
    assert refused(client_credentials(issuer, signer.assertion(client.client_id, issuer)))
    assert last_failure_reason().startswith("jwks_uri unavailable")
    assert reason in last_failure_reason()


def test_a_jwks_uri_on_a_private_address_is_not_fetched(issuer, jwks_server, settings):
    settings.SIGNET_ALLOW_PRIVATE_JWKS_URI = False
    signer = Signer("RS256", "ssrf")
    jwks_server.jwks = {"keys": [signer.jwk]}
    client = register(jwks_uri=jwks_server.url)
    assert refused(client_credentials(issuer, signer.assertion(client.client_id, issuer)))
    assert "private, loopback or link-local" in last_failure_reason()
    assert jwks_server.hits == 0


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.215.14", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("224.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 of 127.0.0.1
        ("2002:5db8:d70e::", True),  # 6to4 of a public address
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::5db8:d70e", True),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo, its client 192.0.2.45
    ],
)
def test_public_addresses(address, public):
    from provider.oidc.client_keys import public_address

    assert public_address(address) is public


def test_an_untrusted_certificate_is_refused(issuer, jwks_server, monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE")  # the system store does not know the test's certificate
    signer = Signer("RS256", "untrusted")
    jwks_server.jwks = {"keys": [signer.jwk]}
    client = register(jwks_uri=jwks_server.url)
    assert refused(client_credentials(issuer, signer.assertion(client.client_id, issuer)))
    assert last_failure_reason().startswith("jwks_uri unavailable")


# --- the clients command ------------------------------------------------------------------------
def clients(*args):
    import io

    from django.core.management import call_command

    out = io.StringIO()
    call_command("clients", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_clients_create_and_update_with_keys(issuer, signers, tmp_path):
    from django.core.management import CommandError

    from provider.oidc.models import Client

    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [signers["ES256"].jwk]}))
    row = clients(
        "create",
        "--name",
        "Batch job",
        "--type",
        "confidential",
        "--grant",
        "client-credentials",
        "--auth-method",
        "private-key-jwt",
        "--jwks-file",
        str(jwks_file),
    )
    assert "client_secret" not in row  # nothing to print: the client has no secret
    assert row["auth_method"] == "private_key_jwt" and row["jwks_kids"] == ["es256-key"]
    client = Client.objects.get(client_id=row["client_id"])
    assert client.client_secret == ""
    signer = signers["ES256"]
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200

    # Rotate to a jwks_uri: the inline keys go, the new URL is validated.
    changed = clients("update", client.client_id, "--jwks-uri", "https://keys.example.com/jwks.json")
    assert set(changed["changed"]) == {"jwks", "jwks_uri"}
    client.refresh_from_db()
    assert client.jwks is None and client.jwks_uri == "https://keys.example.com/jwks.json"
    with pytest.raises(CommandError, match="https"):
        clients("update", client.client_id, "--jwks-uri", "http://keys.example.com/jwks.json")

    private = tmp_path / "private.json"
    private.write_text(
        json.dumps({"keys": [jwt.algorithms.ECAlgorithm.to_jwk(signer.private, as_dict=True)]})
    )
    with pytest.raises(CommandError, match="private members") as error:
        clients("update", client.client_id, "--jwks-file", str(private))
    assert json.loads(private.read_text())["keys"][0]["d"] not in str(error.value)
    with pytest.raises(CommandError, match="cannot read"):
        clients("update", client.client_id, "--jwks-file", str(tmp_path / "missing.json"))


def test_clients_update_switches_a_secret_client_to_keys_and_forgets_its_secret(issuer, signers, tmp_path):
    from provider.oidc.models import Client

    client, secret = secret_client()
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [signers["RS256"].jwk]}))
    row = clients(
        "update", client.client_id, "--auth-method", "private-key-jwt", "--jwks-file", str(jwks_file)
    )
    assert "client_secret" in row["changed"]
    assert Client.objects.get(pk=client.pk).client_secret == ""
    assert refused(client_credentials_with_secret(issuer, client.client_id, secret))
    assert client_credentials(issuer, signers["RS256"].assertion(client.client_id, issuer)).status_code == 200


# --- the admin ----------------------------------------------------------------------------------
def _admin_form(**overrides):
    return {
        "name": "Key client",
        "client_type": "confidential",
        "authorization_grant_type": "client-credentials",
        "redirect_uris": "",
        "post_logout_redirect_uris": "",
        "allowed_scopes": "",
        "audiences": "",
        "is_active": "on",
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_signing_alg": "",
        "jwks": "",
        "jwks_uri": "",
        **overrides,
    }


def test_the_admin_registers_a_key_client_without_a_secret(issuer, signers, admin_client):
    from django.urls import reverse

    from provider.oidc.models import Client

    signer = signers["EdDSA"]
    form = _admin_form(jwks=json.dumps({"keys": [signer.jwk]}), token_endpoint_auth_signing_alg="EdDSA")
    response = admin_client.post(reverse("admin:oidc_client_add"), form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    client = Client.objects.get(name="Key client")
    assert client.client_secret == "" and client.jwks == {"keys": [signer.jwk]}
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200
    regenerate = admin_client.post(reverse("admin:oidc_client_regenerate_secret", args=[client.pk]))
    assert regenerate.status_code == 302
    client.refresh_from_db()
    assert client.client_secret == ""


def test_the_admin_gives_one_clear_error_per_bad_field(signers, admin_client):
    from django.urls import reverse

    from provider.oidc.models import Client

    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signers["RS256"].private))
    cases = [
        ({"jwks": json.dumps({"keys": [private]})}, "jwks", "private members"),
        ({"jwks": "{not json"}, "jwks", "valid JSON"),
        ({"jwks_uri": "http://keys.example.com/jwks"}, "jwks_uri", "https"),
        ({}, "jwks", "needs the client's public keys"),
        (
            {"jwks": json.dumps({"keys": [signers["RS256"].jwk]}), "jwks_uri": "https://keys.example.com/j"},
            "jwks_uri",
            "not both",
        ),
        (
            {"jwks": json.dumps({"keys": [signers["RS256"].jwk]}), "client_type": "public"},
            "client_type",
            "confidential",
        ),
    ]
    for overrides, field, text in cases:
        response = admin_client.post(reverse("admin:oidc_client_add"), _admin_form(**overrides))
        assert response.status_code == 200, (overrides, response.status_code)
        errors = response.context["adminform"].form.errors
        assert list(errors) == [field], (overrides, errors)
        assert len(errors[field]) == 1 and text in errors[field][0], (overrides, errors)
        assert private["d"] not in response.content.decode()
    assert not Client.objects.exists()


# --- the rules, one by one, with the clock pinned -----------------------------------------------
def test_time_rules_at_their_edges():
    from datetime import UTC, datetime

    from provider.oidc import client_authentication as rules

    now = datetime(2030, 1, 1, tzinfo=UTC)
    t = int(now.timestamp())
    ahead = rules.MAX_ASSERTION_LIFETIME + rules.LEEWAY
    rules.not_expired({"exp": t + 1}, now)
    for exp in (t, t - 1, "9999999999", True, float("nan"), None):
        with pytest.raises(rules.Refused):
            rules.not_expired({"exp": exp}, now)
    rules.not_too_long_lived({"exp": t + ahead}, now)
    with pytest.raises(rules.Refused):
        rules.not_too_long_lived({"exp": t + ahead + 1}, now)
    with pytest.raises(rules.Refused):
        rules.not_too_long_lived({"exp": float("inf")}, now)
    rules.issued_in_the_past({"iat": t + rules.LEEWAY, "nbf": t + rules.LEEWAY}, now)
    for claim in ("iat", "nbf"):
        with pytest.raises(rules.Refused):
            rules.issued_in_the_past({claim: t + rules.LEEWAY + 1}, now)
        with pytest.raises(rules.Refused):
            rules.issued_in_the_past({claim: "yesterday"}, now)


def test_audience_and_issuer_rules(settings):
    from provider.oidc import client_authentication as rules

    settings.OIDC_ISSUER = "https://id.example.com"
    for aud in ("https://id.example.com", "https://id.example.com/token", ["x", "https://id.example.com"]):
        rules.audience_is_this_server({"aud": aud})
    for aud in (None, "", "https://id.example.com/", "https://id.example.com/introspect", ["x"], {"a": 1}, 1):
        with pytest.raises(rules.Refused):
            rules.audience_is_this_server({"aud": aud})
    assert rules.issuer_is_subject({"iss": "c", "sub": "c"}) == "c"
    for claims in (
        {"iss": "c", "sub": "d"},
        {"iss": "c"},
        {"iss": 1, "sub": 1},
        {"iss": "\x00", "sub": "\x00"},
    ):
        with pytest.raises(rules.Refused):
            rules.issuer_is_subject(claims)


def test_when_the_jwks_uri_fails_the_last_keys_serve_for_a_while(issuer, jwks_server):
    from provider.oidc import client_keys

    signer = Signer("ES256", "outage")
    jwks_server.jwks, jwks_server.cache_control = {"keys": [signer.jwk]}, "max-age=60"
    client = register(jwks_uri=jwks_server.url)
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200

    jwks_server.status = 503  # the client's key server is down, past the set's max-age
    jwks_server.clock.offset += 61
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200
    assert jwks_server.hits == 2  # retried once, then not again within REFETCH_INTERVAL

    jwks_server.clock.offset += client_keys.MAX_STALE_SECONDS
    assert refused(client_credentials(issuer, signer.assertion(client.client_id, issuer)))
    assert "answered 503" in last_failure_reason()
    hits = jwks_server.hits
    assert refused(client_credentials(issuer, signer.assertion(client.client_id, issuer)))
    assert jwks_server.hits == hits  # a failure is not retried before REFETCH_INTERVAL
    jwks_server.status = 200  # back up
    jwks_server.clock.offset += client_keys.REFETCH_INTERVAL
    assert client_credentials(issuer, signer.assertion(client.client_id, issuer)).status_code == 200
