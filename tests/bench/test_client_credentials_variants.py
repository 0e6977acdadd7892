"""Scenarios 1k (private_key_jwt) and 1e (ES256 access tokens): their definitions, the assertions the
load generator sends and the peer's configuration, checked without servers (nothing here times)."""

import json
import re
from datetime import UTC, datetime
from urllib.parse import unquote

import jwt
import pytest

from bench import run as bench_run
from bench.servers import Peer
from bench.signet_fixtures import PKJWT_CLIENT_ID, PKJWT_KID, assertion_key
from provider.oidc import client_authentication as ca
from provider.oidc.client_keys import jwks_problem


@pytest.fixture(scope="module")
def pkjwt():
    pem, jwk = assertion_key()
    return {"client_id": PKJWT_CLIENT_ID, "kid": PKJWT_KID, "private_key_pem": pem, "jwk": jwk}


def test_new_scenarios_are_defined_titled_and_reported():
    for key in ("1k", "1e"):
        assert key in bench_run.ALL_SCENARIOS
        assert key in bench_run.SCENARIOS and key in bench_run.TITLES
    assert [key for key, _ in bench_run.REPORTED_PEER_RATIOS] == ["1k", "1e"]
    assert set(bench_run.ALL_SCENARIOS) == set(bench_run.SCENARIOS)


def test_assertions_pass_signets_own_rules_and_each_has_its_jti(pkjwt):
    audience = "http://127.0.0.1:8000"
    now = int(datetime.now(UTC).timestamp())
    assertions = bench_run.sign_assertions(pkjwt, audience, 50, now=now)
    key = jwt.PyJWK(pkjwt["jwk"], algorithm="RS256")
    claims = [jwt.decode(a, key, algorithms=["RS256"], audience=audience) for a in assertions]
    assert len({c["jti"] for c in claims}) == 50
    assert {jwt.get_unverified_header(a)["kid"] for a in assertions} == {PKJWT_KID}
    first = claims[0]
    assert first["iss"] == first["sub"] == PKJWT_CLIENT_ID
    # Accepted from signing to the end of the lifetime by the rules Signet applies to each one.
    for moment in (now, now + bench_run.ASSERTION_LIFETIME - 1):
        at = datetime.fromtimestamp(moment, UTC)
        ca.not_expired(first, at)
        ca.not_too_long_lived(first, at)
        ca.issued_in_the_past(first, at)
    assert bench_run.ASSERTION_LIFETIME <= ca.MAX_ASSERTION_LIFETIME


def test_the_assertion_key_registers_as_a_public_jwks(pkjwt):
    assert jwks_problem({"keys": [pkjwt["jwk"]]}) is None
    assert "d" not in pkjwt["jwk"] and pkjwt["jwk"]["alg"] == "RS256"


def test_the_body_template_carries_one_assertion_as_jwt_bearer():
    body = bench_run.assertion_body()
    assert body.count("{item}") == 1
    fields = dict(part.split("=", 1) for part in body.split("&"))
    assert fields["grant_type"] == "client_credentials"
    assert unquote(fields["client_assertion_type"]) == ca.JWT_BEARER
    assert fields["client_assertion"] == "{item}"


def test_a_refused_fresh_assertion_fails_the_scenario_and_running_out_does_not():
    class Server:
        name = "signet"

    bench_run.require_every_answer_200(Server, {"non200": 0, "non200_late": 3, "exhausted": 5})
    with pytest.raises(RuntimeError, match="signet answered 2 requests"):
        bench_run.require_every_answer_200(Server, {"non200": 2, "exhausted": 0})
    bench_run.require_no_errors(Server, {"errors": 0})
    with pytest.raises(RuntimeError, match="signet answered 1 requests with an error"):
        bench_run.require_no_errors(Server, {"errors": 1})


def test_the_wrk_script_reports_every_counter_load_reads():
    script = bench_run.load.SCRIPT.read_text()
    begin = script.index("io.write(string.format(")
    call = script[begin : script.index("))", begin)]
    fmt, _, args = call.partition("\\n',")
    keys = re.findall(r'"(\w+)":%d', fmt)
    assert {"requests", "status", "non200", "non200_late", "exhausted"} <= set(keys)
    # As many values as placeholders, or wrk's string.format fails at the end of every round.
    assert fmt.count("%d") == len(keys) == len([a for a in args.split(",") if a.strip()])


def test_the_peer_registers_both_clients_as_signet_does():
    fixtures = {
        "cc": {"client_id": "bench-cc", "client_secret": "s" * 48},
        "pkjwt": {"client_id": PKJWT_CLIENT_ID, "jwk": {"kty": "RSA", "n": "x", "e": "AQAB"}},
        "es256": {"client_id": "bench-cc-es256", "client_secret": "e" * 48},
        "rp": {"client_id": "bench-rp", "client_secret": "r" * 48},
        "redirect_uri": "https://rp.example.com/callback",
        "code_verifier": "v" * 43,
        "resource": "https://api.example.com",
        "user_id": "u",
        "emails": ["a@example.com"],
    }
    peer = Peer(workdir="/tmp", fixtures=fixtures, key_size=2048, lifetimes=bench_run.LIFETIMES)
    config = json.loads(json.dumps(peer.config()))
    clients = {c["client_id"]: c for c in config["clients"]}
    pk = clients[PKJWT_CLIENT_ID]
    assert pk["token_endpoint_auth_method"] == "private_key_jwt" and "client_secret" not in pk
    assert pk["jwks"] == {"keys": [fixtures["pkjwt"]["jwk"]]}
    assert config["es256ClientIds"] == ["bench-cc-es256"]
    assert clients["bench-cc-es256"]["client_secret"] == "e" * 48


def test_targets_report_the_new_ratios_without_judging_them():
    def result(ratio):
        cpu = {"median": 1.0, "min": 1.0, "max": 1.0, "n": 1}
        return {
            "servers": {"signet": {"cpu_ms": cpu}, "peer": {"cpu_ms": cpu}},
            "ratio_cpu": {"median": ratio, "min": ratio, "max": ratio, "n": 1},
        }

    rows = bench_run.target_rows({"1k": result(1.5), "1e": {"na": "failed: no ES256"}})
    by_key = {r["scenario"]: r for r in rows}
    assert by_key["1k"]["verdict"] == "reported" and by_key["1k"]["value"] == 1.5
    assert by_key["1k"]["target"] == bench_run.REPORTED_TARGET and by_key["1k"]["source"] == "issue 19"
    assert by_key["1e"]["verdict"] == "n/a" and "no ES256" in by_key["1e"]["figure"]
