"""ES256 and EdDSA signing keys (issue 19), over real HTTP: a client choosing each gets its ID and access
tokens signed with it, an independent library (PyJWT, against the JWKS fetched over HTTP) verifies
them, rotation of one algorithm never fails a token, and discovery and the JWKS say exactly what is
configured."""

import json
from io import StringIO

import jwt
import pytest
import requests
from django.core.management import CommandError, call_command
from django.utils import timezone

from keys import selectors, services
from keys.models import SigningKey
from provider.oidc import backchannel
from provider.oidc.models import Client
from provider.oidc.services import client_create
from tests.conftest import POST_LOGOUT_URI, REDIRECT_URI
from tests.keys.conftest import Clock
from tests.oidc.flows import Flow

ALL_ALGS = ("RS256", "ES256", "EdDSA")
# The JWK type and curve each algorithm's keys have (RFC 7518 6.2, RFC 8037 2).
KEY_TYPES = {"RS256": ("RSA", None), "ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519")}


@pytest.fixture
def all_algs(settings, db):
    """Every algorithm configured, and the ring holding an active and a next key for each."""
    settings.SIGNET_SIGNING_ALGS = ALL_ALGS
    services.key_ensure_active()
    selectors.invalidate()
    return ALL_ALGS


def client_signing_with(alg):
    client, secret = client_create(
        name=f"{alg} RP",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[REDIRECT_URI],
        post_logout_redirect_uris=[POST_LOGOUT_URI],
        audiences=["https://api.example.com"],
        id_token_signing_alg=alg,
    )
    return client, secret


def http_jwks(issuer):
    response = requests.get(f"{issuer}/jwks", timeout=10)
    assert response.status_code == 200
    return response.json()


def pyjwt_verify(issuer, token, *, alg, audience, typ):
    """Verify as an independent relying party: the key named by kid in the JWKS fetched over HTTP,
    the algorithm pinned to the one expected (PyJWT refuses any other)."""
    header = jwt.get_unverified_header(token)
    assert header["alg"] == alg and header["typ"] == typ
    key = next(k for k in http_jwks(issuer)["keys"] if k["kid"] == header["kid"])
    assert (key["kty"], key.get("crv")) == KEY_TYPES[alg] and key["alg"] == alg
    return jwt.decode(token, jwt.PyJWK(key).key, algorithms=[alg], audience=audience, issuer=issuer)


@pytest.mark.parametrize("alg", ["ES256", "EdDSA"])
def test_a_client_choosing_an_algorithm_gets_id_and_access_tokens_signed_with_it(
    all_algs, issuer, browser, user, alg
):
    client, secret = client_signing_with(alg)
    flow = Flow(issuer=issuer, browser=browser, client=client, secret=secret)
    tokens = flow.tokens(scope="openid profile")

    id_claims = pyjwt_verify(issuer, tokens["id_token"], alg=alg, audience=client.client_id, typ="JWT")
    assert id_claims["sub"] == str(user.pk) and id_claims["nonce"] == flow.last_params["nonce"]
    access = pyjwt_verify(
        issuer, tokens["access_token"], alg=alg, audience="https://api.example.com", typ="at+jwt"
    )
    assert access["client_id"] == client.client_id
    if alg == "ES256":
        # RFC 7518 3.4: R || S, 64 bytes, not DER.
        assert len(jwt.utils.base64url_decode(tokens["id_token"].rsplit(".", 1)[1])) == 64
    # The provider itself accepts the token at userinfo and introspection (keys.jwt.verify by kid).
    assert flow.userinfo(tokens["access_token"]).json()["sub"] == str(user.pk)
    introspected = requests.post(
        f"{issuer}/introspect",
        data={"token": tokens["access_token"]},
        auth=(client.client_id, secret),
        timeout=10,
    ).json()
    assert introspected["active"] is True


def test_an_rs256_client_keeps_rs256_when_more_algorithms_are_configured(all_algs, issuer, browser, user):
    client, secret = client_signing_with("RS256")
    tokens = Flow(issuer=issuer, browser=browser, client=client, secret=secret).tokens()
    pyjwt_verify(issuer, tokens["id_token"], alg="RS256", audience=client.client_id, typ="JWT")
    pyjwt_verify(
        issuer, tokens["access_token"], alg="RS256", audience="https://api.example.com", typ="at+jwt"
    )


def test_the_logout_token_is_signed_with_the_clients_algorithm(all_algs, issuer, monkeypatch):
    client, _ = client_signing_with("EdDSA")
    client.backchannel_logout_uri = "https://rp.example.com/backchannel"
    client.save()
    posted = []

    class Delivered:
        status_code = 200

    def post(url, *, data, **kwargs):
        posted.append(data["logout_token"])
        return Delivered()

    monkeypatch.setattr(backchannel.requests, "post", post)
    assert backchannel.logout_deliver(client_id=client.client_id, sub="1", sid="s", attempt=1) == "delivered"
    claims = pyjwt_verify(issuer, posted[0], alg="EdDSA", audience=client.client_id, typ="logout+jwt")
    assert claims["sid"] == "s"


def test_a_token_cannot_be_verified_with_another_algorithm_than_its_keys(all_algs, issuer, browser, user):
    """keys.jwt.verify picks the key by kid and requires the alg that key was made for."""
    from keys import jwt as signet_jwt

    token = signet_jwt.sign({"sub": "x"}, alg="ES256")
    header, payload, signature = token.split(".")
    relabelled = jwt.utils.base64url_encode(
        json.dumps({**jwt.get_unverified_header(token), "alg": "EdDSA"}).encode()
    ).decode()
    with pytest.raises(signet_jwt.InvalidToken, match="alg does not match"):
        signet_jwt.verify(f"{relabelled}.{payload}.{signature}")
    assert signet_jwt.verify(token) == {"sub": "x"}


def test_jwks_and_discovery_list_exactly_the_configured_algorithms(settings, issuer):
    def published():
        selectors.invalidate()
        jwks = http_jwks(issuer)
        discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
        return {k["alg"] for k in jwks["keys"]}, discovery["id_token_signing_alg_values_supported"]

    assert published() == ({"RS256"}, ["RS256"])  # the default
    settings.SIGNET_SIGNING_ALGS = ("RS256", "ES256")
    services.key_ensure_active()
    assert published() == ({"RS256", "ES256"}, ["RS256", "ES256"])
    settings.SIGNET_SIGNING_ALGS = ALL_ALGS
    services.key_ensure_active()
    algs, advertised = published()
    assert algs == set(ALL_ALGS) and advertised == list(ALL_ALGS)
    # Each algorithm has an active and a pre-published next key in the JWKS.
    for alg in ALL_ALGS:
        states = sorted(SigningKey.objects.filter(alg=alg).values_list("state", flat=True))
        assert states == ["active", "next"]
    assert len(http_jwks(issuer)["keys"]) == 6
    # Taken out again: ES256's unused next key goes at once, its active key retires (published until
    # its tokens have expired) and is no longer advertised.
    settings.SIGNET_SIGNING_ALGS = ("RS256", "EdDSA")
    services.key_maintain()
    algs, advertised = published()
    assert advertised == ["RS256", "EdDSA"]
    assert list(SigningKey.objects.filter(alg="ES256").values_list("state", flat=True)) == ["retired"]


@pytest.fixture
def clock(monkeypatch):
    fake = Clock(timezone.now())
    monkeypatch.setattr("keys.clock.now", fake)
    return fake


def test_rotating_one_algorithm_twice_fails_no_token(all_algs, issuer, browser, user, settings, clock):
    """Tokens signed before each rotation verify (at the provider and with PyJWT over HTTP) until their
    key's retention ends; the RS256 and EdDSA keys are untouched."""
    settings.SIGNET_KEY_PREPUBLISH_SECONDS = 3600
    settings.SIGNET_KEY_ROTATION_DAYS = 1
    # Tokens outlive two rotations, so their keys stay published (retired) across both.
    settings.SIGNET_ACCESS_TOKEN_LIFETIME = settings.SIGNET_ID_TOKEN_LIFETIME = 3 * 24 * 3600
    client, secret = client_signing_with("ES256")
    others = set(SigningKey.objects.exclude(alg="ES256").values_list("kid", "state"))
    flow = Flow(issuer=issuer, browser=browser, client=client, secret=secret)
    issued = []
    for _round in range(3):
        issued.append(flow.tokens())
        for earlier in issued:
            pyjwt_verify(issuer, earlier["id_token"], alg="ES256", audience=client.client_id, typ="JWT")
            assert flow.userinfo(earlier["access_token"]).status_code == 200
        if _round == 2:
            break
        # Not due before the schedule says so; then the next key, pre-published long enough, signs.
        assert services.key_rotate(alg="ES256", if_due=True).rotated is False
        clock.advance(days=1, seconds=1)
        rotation = services.key_rotate(alg="ES256", if_due=True)
        assert rotation.rotated is True and rotation.prepublished_seconds >= 3600
        selectors.invalidate()
    kids = [jwt.get_unverified_header(t["id_token"])["kid"] for t in issued]
    assert len(set(kids)) == 3  # three keys signed, one after the other
    assert set(SigningKey.objects.exclude(alg="ES256").values_list("kid", "state")) == others
    # Once the first key's retention is over it is purged, and only then do its tokens stop verifying.
    clock.advance(seconds=services.retention_seconds() + 1)
    assert services.key_purge_expired() == 2
    selectors.invalidate()
    assert flow.userinfo(issued[0]["access_token"]).status_code == 401
    assert flow.userinfo(issued[2]["access_token"]).status_code == 200
    assert kids[0] not in {k["kid"] for k in http_jwks(issuer)["keys"]}


def test_an_operator_rotation_of_one_algorithm_leaves_the_others(all_algs):
    before = {k.kid: k.state for k in SigningKey.objects.exclude(alg="ES256")}
    old = selectors.active_signing_key(alg="ES256").kid
    rotation = services.key_rotate(alg="ES256")
    assert rotation.retired.kid == old and rotation.active.alg == "ES256"
    assert {k.kid: k.state for k in SigningKey.objects.exclude(alg="ES256")} == before


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_keys_command_handles_every_configured_algorithm(all_algs):
    listed = json.loads(run("keys", "list", "--json"))
    assert sorted((k["alg"], k["state"]) for k in listed) == sorted(
        (alg, state) for alg in ALL_ALGS for state in ("active", "next")
    )
    ensured = json.loads(run("keys", "ensure", "--alg", "EdDSA", "--json"))
    assert ensured["alg"] == "EdDSA" and ensured["state"] == "active"
    assert json.loads(run("keys", "show", ensured["kid"], "--json"))["alg"] == "EdDSA"
    rotated = json.loads(run("keys", "rotate", "--alg", "EdDSA", "--json"))
    assert rotated["retired"] == ensured["kid"]
    assert SigningKey.objects.get(kid=rotated["active"]).alg == "EdDSA"
    due = json.loads(run("keys", "rotate", "--if-due", "--json"))
    assert set(due["algorithms"]) == set(ALL_ALGS) and due["rotated"] is False


def test_keys_command_refuses_an_algorithm_that_is_not_configured(db):
    with pytest.raises(CommandError, match=r"^ES256 is not in SIGNET_SIGNING_ALGS \(RS256\)$"):
        run("keys", "rotate", "--alg", "ES256")
    with pytest.raises(CommandError, match="ES256 is not in SIGNET_SIGNING_ALGS"):
        run("keys", "ensure", "--alg", "ES256")
    assert not SigningKey.objects.exclude(alg="RS256").exists()


def test_clients_command_sets_the_signing_algorithm_and_refuses_one_not_configured(settings, db):
    created = json.loads(
        run(
            "clients",
            "create",
            "--name",
            "x",
            "--type",
            "confidential",
            "--grant",
            "client-credentials",
            "--json",
        )
    )
    assert created["id_token_signing_alg"] == "RS256"
    with pytest.raises(CommandError) as refused:
        run("clients", "update", created["client_id"], "--id-token-signing-alg", "ES256")
    assert "\n" not in str(refused.value) and "ES256 is not offered here" in str(refused.value)
    assert Client.objects.get(client_id=created["client_id"]).id_token_signed_response_alg == "RS256"
    settings.SIGNET_SIGNING_ALGS = ("RS256", "ES256")
    run("clients", "update", created["client_id"], "--id-token-signing-alg", "ES256")
    assert Client.objects.get(client_id=created["client_id"]).id_token_signed_response_alg == "ES256"
    with pytest.raises(CommandError, match="EdDSA is not offered here"):
        run(
            "clients",
            "create",
            *("--name", "y", "--type", "confidential", "--grant", "client-credentials"),
            *("--id-token-signing-alg", "EdDSA"),
        )


def test_client_credentials_tokens_carry_the_clients_algorithm(all_algs, issuer):
    client, secret = client_create(
        name="svc", client_type="confidential", grant="client-credentials", id_token_signing_alg="EdDSA"
    )
    response = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    header = jwt.get_unverified_header(token)
    key = next(k for k in http_jwks(issuer)["keys"] if k["kid"] == header["kid"])
    claims = jwt.decode(token, jwt.PyJWK(key).key, algorithms=["EdDSA"], options={"verify_aud": False})
    assert claims["client_id"] == client.client_id
