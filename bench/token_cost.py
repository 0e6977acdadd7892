"""Token endpoint cost, in process (no HTTP server): client_credentials (with a secret, with
private_key_jwt, with ES256 tokens), code exchange, refresh rotation.

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE signet_bench_tokens"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signet_bench_tokens \\
        .venv/bin/python bench/token_cost.py --requests 300

Drives /token through Django's test client, so the figures are Signet's own work per request (client
authentication, validation, the RS256 signatures, the database writes) without a server or network.
Prints wall and CPU milliseconds and SQL statements per request; asserts nothing. The database may be
reused: each run replaces the signing keys (it has a fresh key-encryption key).
"""

import argparse
import os
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# As the benchmarked server runs (bench/servers.py): DEBUG off, so no query log or debug work is timed.
os.environ.update(
    DJANGO_SETTINGS_MODULE="provider.settings",
    DEBUG="false",
    SIGNET_READ_DOT_ENV="false",
    SECRET_KEY=secrets.token_urlsafe(50),
    SIGNET_KEY_ENCRYPTION_KEY=secrets.token_urlsafe(32),
    ALLOWED_HOSTS="testserver",
    OIDC_ISSUER="http://testserver",
    SIGNET_RATELIMIT_TOKEN="100000000/m",
    # As the bench's Signet: an ES256 key in the ring for the client whose tokens are ES256.
    SIGNET_SIGNING_ALGS="RS256,ES256",
)


def measure(label, n, call):
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    call()  # warm: key decryption, imports, connections
    reset_queries()  # the log is capped: a full one (after migrate) would count nothing
    with CaptureQueriesContext(connection) as captured:
        call()
    statements = len(captured)  # now: later requests empty the log it reads
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(n):
        call()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        f"{label:34} {wall / n * 1000:7.2f} ms wall  {cpu / n * 1000:7.2f} ms CPU  "
        f"{statements:3} SQL  per request (n={n})"
    )


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    import logging

    import django

    django.setup()
    logging.disable(logging.INFO)
    from django.core.management import call_command
    from django.test import Client as HttpClient

    from accounts.models import User
    from bench import signet_fixtures
    from keys.models import SigningKey
    from keys.selectors import active_signing_key
    from provider.oidc.models import Client
    from provider.oidc.services import client_create

    call_command("migrate", verbosity=0)
    # Each run has a fresh key-encryption key, so keys left by an earlier run could not be read.
    SigningKey.objects.all().delete()
    call_command("keys", "ensure", verbosity=0)
    active_signing_key()
    Client.objects.filter(name__startswith="bench-cost").delete()
    User.objects.filter(email="bench-cost@example.com").delete()
    user = User.objects.create_user("bench-cost@example.com", "bench-cost-password-1")
    service, service_secret = client_create(
        name="bench-cost cc",
        client_type="confidential",
        grant="client-credentials",
        audiences=["https://api"],
    )
    login, login_secret = client_create(
        name="bench-cost login", client_type="confidential", grant="password", audiences=["https://api"]
    )
    rp, rp_secret = client_create(
        name="bench-cost rp",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[signet_fixtures.REDIRECT_URI],
        audiences=["https://api"],
    )
    client = HttpClient()

    class http:  # /token takes form-urlencoded bodies only; the test client would send multipart
        @staticmethod
        def post(path, data):
            return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded")

    def client_credentials():
        response = http.post(
            "/token",
            {
                "grant_type": "client_credentials",
                "client_id": service.client_id,
                "client_secret": service_secret,
            },
        )
        assert response.status_code == 200, response.content

    measure("client_credentials", args.requests, client_credentials)

    # Scenario 1k's request: a fresh assertion each (a jti is accepted once), signed beforehand.
    from bench.run import sign_assertions

    pem, jwk = signet_fixtures.assertion_key()
    keyed, _ = client_create(
        name="bench-cost cc private_key_jwt",
        client_type="confidential",
        grant="client-credentials",
        audiences=["https://api"],
        auth_method="private_key_jwt",
        jwks={"keys": [jwk]},
        signing_alg="RS256",
    )
    pkjwt = {"client_id": keyed.client_id, "kid": jwk["kid"], "private_key_pem": pem}
    assertions = iter(sign_assertions(pkjwt, "http://testserver", args.requests + 2))

    def private_key_jwt():
        response = http.post(
            "/token",
            {
                "grant_type": "client_credentials",
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": next(assertions),
            },
        )
        assert response.status_code == 200, response.content

    measure("client_credentials, private_key_jwt", args.requests, private_key_jwt)

    es256, es256_secret = client_create(
        name="bench-cost cc es256",
        client_type="confidential",
        grant="client-credentials",
        audiences=["https://api"],
        id_token_signing_alg="ES256",
    )

    def es256_tokens():
        response = http.post(
            "/token",
            {"grant_type": "client_credentials", "client_id": es256.client_id, "client_secret": es256_secret},
        )
        assert response.status_code == 200, response.content

    measure("client_credentials, ES256 token", args.requests, es256_tokens)

    # Minted beforehand, as /authorize stores them, so only the exchange is timed.
    codes = iter(signet_fixtures.mint_codes(client=rp, user_id=user.pk, n=args.requests + 2))

    def exchange():
        response = http.post(
            "/token",
            {
                "grant_type": "authorization_code",
                "code": next(codes),
                "redirect_uri": signet_fixtures.REDIRECT_URI,
                "code_verifier": signet_fixtures.CODE_VERIFIER,
                "client_id": rp.client_id,
                "client_secret": rp_secret,
            },
        )
        assert response.status_code == 200, response.content

    measure("authorization_code (exchange)", args.requests, exchange)

    first = http.post(
        "/token",
        {
            "grant_type": "password",
            "username": user.email,
            "password": "bench-cost-password-1",
            "client_id": login.client_id,
            "client_secret": login_secret,
        },
    ).json()
    state = {"refresh_token": first["refresh_token"]}

    def rotate():
        response = http.post(
            "/token",
            {
                "grant_type": "refresh_token",
                "refresh_token": state["refresh_token"],
                "client_id": login.client_id,
                "client_secret": login_secret,
            },
        )
        assert response.status_code == 200, response.content
        state["refresh_token"] = response.json()["refresh_token"]

    measure("refresh_token (rotation)", args.requests, rotate)
    service.delete()
    keyed.delete()
    es256.delete()
    login.delete()
    rp.delete()
    user.delete()


if __name__ == "__main__":
    main()
