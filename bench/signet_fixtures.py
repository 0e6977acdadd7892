"""Benchmark fixtures in Signet's database, through the Django ORM (run by bench/run.py as a subprocess).

    python bench/signet_fixtures.py setup --out FILE       signing key, users, clients; JSON to FILE
    python bench/signet_fixtures.py codes --n N --out FILE authorization codes with PKCE, one per line
    python bench/signet_fixtures.py truncate-tokens        empty the token, code, family and audit tables
    python bench/signet_fixtures.py counts                 rows per table of the token apps, as JSON
    python bench/signet_fixtures.py bulk-tokens --rows N --grew T1,T2
                                                           N rows in each table that grows, half expired
    python bench/signet_fixtures.py queries --scenario 1 --fixtures FILE   the SQL one request runs

The environment is the benchmark server's (DATABASE_URL and the rest), so the rows land where the
gunicorn workers read them. Codes are minted as DOT Grant rows (oidc.AuthorizationCode) exactly as
the authorize endpoint saves them after a login, consent and PKCE challenge.
"""

import argparse
import json
import os
import secrets
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider.settings")

# One fixed PKCE pair for every minted code: the S256 check costs the same for any verifier.
CODE_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
CODE_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
REDIRECT_URI = "https://rp.example.com/callback"
RESOURCE = "https://api.example.com"
CC_CLIENT_ID = "bench-cc"
# Scenario 1k: client credentials authenticated by a signed assertion (private_key_jwt, RFC 7523).
PKJWT_CLIENT_ID = "bench-cc-pkjwt"
PKJWT_KID = "bench-pkjwt-1"
# Scenario 1e: client credentials whose access tokens are signed with ES256 (the client's choice).
ES256_CLIENT_ID = "bench-cc-es256"
RP_CLIENT_ID = "bench-rp"
LOGIN_CLIENT_ID = "bench-login"
USER_EMAIL = "bench-user-{}@example.com"
CODE_SCOPE = "openid profile email offline_access"


def setup(*, users, out, sample_api_audience):
    from django.contrib.auth import get_user_model

    from keys.selectors import active_signing_key
    from keys.services import key_ensure_active
    from provider.oidc.models import Client
    from provider.oidc.services import client_create

    # As the container's start does (`keys rotate --if-due`): reads of the key ring create no key.
    key_ensure_active()
    key = active_signing_key()
    password = secrets.token_urlsafe(16)
    User = get_user_model()
    User.objects.filter(email__startswith="bench-user-").delete()
    emails = [USER_EMAIL.format(i) for i in range(users)]
    first = None
    for email in emails:
        user = User.objects.create_user(
            email, password, first_name="Bench", last_name="User", email_verified=True
        )
        first = first or user
    bench_clients = [CC_CLIENT_ID, PKJWT_CLIENT_ID, ES256_CLIENT_ID, RP_CLIENT_ID, LOGIN_CLIENT_ID]
    Client.objects.filter(client_id__in=bench_clients).delete()
    audiences = [RESOURCE] + ([sample_api_audience] if sample_api_audience else [])
    cc_secret = secrets.token_urlsafe(48)
    rp_secret = secrets.token_urlsafe(48)
    client_create(
        name="bench client credentials",
        client_type="confidential",
        grant="client-credentials",
        client_id=CC_CLIENT_ID,
        secret=cc_secret,
        audiences=audiences,
    )
    assertion_key_pem, assertion_jwk = assertion_key()
    client_create(
        name="bench client credentials, private_key_jwt",
        client_type="confidential",
        grant="client-credentials",
        client_id=PKJWT_CLIENT_ID,
        audiences=audiences,
        auth_method="private_key_jwt",
        jwks={"keys": [assertion_jwk]},
        signing_alg="RS256",
    )
    es256_secret = secrets.token_urlsafe(48)
    client_create(
        name="bench client credentials, ES256 tokens",
        client_type="confidential",
        grant="client-credentials",
        client_id=ES256_CLIENT_ID,
        secret=es256_secret,
        audiences=audiences,
        id_token_signing_alg="ES256",
    )
    client_create(
        name="bench relying party",
        client_type="confidential",
        grant="authorization-code",
        client_id=RP_CLIENT_ID,
        secret=rp_secret,
        redirect_uris=[REDIRECT_URI],
        audiences=[RESOURCE],
        skip_consent=True,
    )
    # Scenario 7 goes through the consent page, as a first login to a third-party app does.
    client_create(
        name="bench login",
        client_type="confidential",
        grant="authorization-code",
        client_id=LOGIN_CLIENT_ID,
        secret=rp_secret,
        redirect_uris=[REDIRECT_URI],
        audiences=[RESOURCE],
    )
    data = {
        "kid": key.kid,
        "user_id": str(first.pk),
        "emails": emails,
        "password": password,
        "cc": {"client_id": CC_CLIENT_ID, "client_secret": cc_secret},
        # The private key stays in the run's git-ignored folder: bench/run.py signs the assertions.
        "pkjwt": {
            "client_id": PKJWT_CLIENT_ID,
            "kid": PKJWT_KID,
            "private_key_pem": assertion_key_pem,
            "jwk": assertion_jwk,
        },
        "es256": {"client_id": ES256_CLIENT_ID, "client_secret": es256_secret},
        "rp": {"client_id": RP_CLIENT_ID, "client_secret": rp_secret},
        "login": {"client_id": LOGIN_CLIENT_ID, "client_secret": rp_secret},
        "redirect_uri": REDIRECT_URI,
        "code_verifier": CODE_VERIFIER,
        "resource": RESOURCE,
    }
    Path(out).write_text(json.dumps(data))


def assertion_key():
    """A fresh RSA key for scenario 1k's client: (private PEM, public JWK as both servers register it).

    RS256 because it is what private_key_jwt clients most often sign with, and verifying it is
    cheap for both servers; 2048 bits, the least Signet accepts (client_keys.MIN_RSA_BITS).
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    jwk = RSAAlgorithm.to_jwk(key.public_key(), as_dict=True)
    jwk.update({"kid": PKJWT_KID, "use": "sig", "alg": "RS256"})
    return pem.decode("ascii"), jwk


def mint_codes(*, client, user_id, n):
    """n authorization codes for `client` and the user, stored as /authorize stores them; their values."""
    from django.conf import settings
    from django.utils import timezone

    from provider.oidc.models import AuthorizationCode

    now = timezone.now()
    expires = now + timedelta(seconds=settings.SIGNET_AUTHORIZATION_CODE_LIFETIME)
    rows = [
        AuthorizationCode(
            user_id=user_id,
            application=client,
            code=secrets.token_urlsafe(30),
            expires=expires,
            redirect_uri=REDIRECT_URI,
            scope=CODE_SCOPE,
            code_challenge=CODE_CHALLENGE,
            code_challenge_method="S256",
            nonce=f"n-{i}",
            claims="",
            auth_time=int(now.timestamp()),
            sid=secrets.token_hex(16),
        )
        for i in range(n)
    ]
    AuthorizationCode.objects.bulk_create(rows, batch_size=1000)
    return [row.code for row in rows]


def codes(*, n, out, user_id):
    from provider.oidc.models import Client

    client = Client.objects.get(client_id=RP_CLIENT_ID)
    minted = mint_codes(client=client, user_id=user_id, n=n)
    Path(out).write_text("".join(code + "\n" for code in minted))


# Scenario 8's tables, by label. Refresh tokens, token families and audit events grow with every
# sign-in whatever the access-token format; access and ID tokens only while each one is stored as a
# row, which bench/run.py finds out by counting rows around real requests (see tables_to_fill).
PER_TOKEN = ("access_token", "id_token")
ALWAYS_GROWING = ("refresh_token", "token_family", "audit_event")


def growth_models():
    """label → model, for each of scenario 8's tables this version of Signet has."""
    from django.apps import apps
    from django.core.exceptions import ImproperlyConfigured
    from oauth2_provider import models as dot

    getters = {
        "access_token": dot.get_access_token_model,
        "id_token": dot.get_id_token_model,
        "refresh_token": dot.get_refresh_token_model,
        "token_family": lambda: apps.get_model("oidc", "TokenFamily"),
        "audit_event": lambda: apps.get_model("audit", "AuditEvent"),
    }
    found = {}
    for label, get in getters.items():
        try:
            found[label] = get()
        except (LookupError, ImproperlyConfigured, AttributeError):
            continue
    return found


def tables_to_fill(present, grew):
    """Labels to fill: those in `present` (label → table) that grow with sign-ins, and the per-token
    ones only when their table is among `grew` (tables that gained rows from real requests)."""
    return [
        label
        for label in (*PER_TOKEN, *ALWAYS_GROWING)
        if label in present and (label not in PER_TOKEN or present[label] in grew)
    ]


def _probe_apps_tables():
    """Every table of the apps that hold tokens, grants and audit rows."""
    from django.apps import apps

    tables = set()
    for label in ("oauth2_provider", "oidc", "audit"):
        try:
            config = apps.get_app_config(label)
        except LookupError:
            continue
        tables.update(m._meta.db_table for m in config.get_models() if m._meta.managed)
    return sorted(tables)


def counts():
    """{"tables": {table: rows}, "labels": {label: table}} for bench/run.py's growth probe."""
    from django.db import connection

    with connection.cursor() as cursor:
        rows = {}
        for table in _probe_apps_tables():
            cursor.execute(f"SELECT count(*) FROM {connection.ops.quote_name(table)}")
            rows[table] = cursor.fetchone()[0]
    labels = {label: model._meta.db_table for label, model in growth_models().items()}
    print(json.dumps({"tables": rows, "labels": labels}))


def _token_tables():
    from provider.oidc.models import AuthorizationCode

    tables = [model._meta.db_table for model in growth_models().values()]
    return [*tables, AuthorizationCode._meta.db_table]


def truncate_tokens():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(_token_tables())} CASCADE")


def _insert_select(model, expressions, rows, *, owners=None):
    """INSERT … SELECT … FROM generate_series(1, rows) AS g: `expressions` name SQL per column (with
    %s parameters); a foreign key to a model in `owners` (model → primary key) points at that row;
    every other column gets its field default, or NULL when nullable."""
    from django.db import connection

    owners = owners or {}
    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(field.column)
        related = field.related_model if field.is_relation else None
        if field.column in expressions:
            sql, *sql_params = expressions[field.column]
            values.append(sql)
            params += sql_params
        elif related is not None and related in owners:
            values.append("%s")
            params.append(owners[related])
        elif field.null:
            values.append("NULL")
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.get_default(), connection))
    return (
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM generate_series(1, %s) AS g",
        [*params, rows],
    )


# Half of each table's rows are past their end (expired, revoked or used), as a long-running
# database has them until the purge; `g` is the row's number.
HALF_EXPIRED = "now() + CASE WHEN g %% 2 = 0 THEN interval '-1 day' ELSE interval '1 hour' END"
HALF_REVOKED = "CASE WHEN g %% 2 = 0 THEN now() ELSE NULL END"
FAMILY = "md5('bench-family-' || g)::uuid"


def _growth_expressions(client, user):
    return {
        "access_token": {
            "token": ("''",),  # stored redacted, found by checksum (RFC 9700 token storage)
            "token_checksum": ("encode(sha256(('bench-at-' || g)::bytea), 'hex')",),
            "expires": (HALF_EXPIRED,),
            "scope": ("'openid profile'",),
            "created": ("now()",),
            "updated": ("now()",),
        },
        "id_token": {
            "jti": ("md5('bench-id-' || g)::uuid",),
            "expires": (HALF_EXPIRED,),
            "scope": ("'openid profile'",),
            "created": ("now()",),
            "updated": ("now()",),
        },
        "refresh_token": {
            "token": ("'bench-rt-' || g",),
            "token_checksum": ("encode(sha256(('bench-rt-' || g)::bytea), 'hex')",),
            "revoked": (HALF_REVOKED,),
            "token_family": (FAMILY,),  # each row its own family, as after one sign-in each
            "created": ("now()",),
            "updated": ("now()",),
        },
        "token_family": {
            "family": (FAMILY,),
            "expires_at": (HALF_EXPIRED,),
            "revoked_at": ("CASE WHEN g %% 4 = 0 THEN now() ELSE NULL END",),
            "offline": ("true",),
            "auth_time": ("extract(epoch FROM now())::bigint",),
            "created_at": ("now()",),
        },
        "audit_event": {
            "created_at": ("now() - g * interval '1 second'",),
            "event": (
                "(ARRAY['login.succeeded', 'consent.granted', 'token.issued', 'login.failed'])[g %% 4 + 1]",
            ),
            "actor": ("%s", str(user.pk)),
            "client_id": ("%s", client.client_id),
            "ip_address": ("'127.0.0.1'::inet",),
            "request_id": ("md5('bench-request-' || g)",),
            "data": ("'{}'::jsonb",),
        },
    }


def bulk_tokens(*, rows, grew):
    """`rows` rows in each of scenario 8's tables this Signet has (tables_to_fill), with SQL only.

    Prints {"filled": {label: {"table", "seconds"}}, "skipped": {label: reason}} as JSON: a table
    whose columns the expressions above do not cover is skipped, not guessed.
    """
    import time

    from django.contrib.auth import get_user_model
    from django.db import DatabaseError, connection, transaction

    from provider.oidc.models import Client

    client = Client.objects.get(client_id=RP_CLIENT_ID)
    user = get_user_model().objects.filter(email=USER_EMAIL.format(0)).get()
    models = growth_models()
    present = {label: model._meta.db_table for label, model in models.items()}
    expressions = _growth_expressions(client, user)
    owners = {Client: client.pk, get_user_model(): user.pk}
    filled, skipped = {}, {}
    for label in (*PER_TOKEN, *ALWAYS_GROWING):
        if label not in present:
            skipped[label] = "no such model in this version"
            continue
        if label not in tables_to_fill(present, grew):
            skipped[label] = "no row per token any more (the probe's requests added none)"
            continue
        model = models[label]
        started = time.monotonic()
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(*_insert_select(model, expressions[label], rows, owners=owners))
        except DatabaseError as e:
            skipped[label] = f"insert failed: {str(e).splitlines()[0][:200]}"
            continue
        with connection.cursor() as cursor:
            # Planner statistics as a long-running database would have them.
            cursor.execute(f"ANALYZE {model._meta.db_table}")
        filled[label] = {"table": model._meta.db_table, "seconds": round(time.monotonic() - started, 1)}
    print(json.dumps({"filled": filled, "skipped": skipped}))


def queries(*, scenario, fixtures_path):
    """Print the SQL one request of a scenario runs (after one unmeasured request warms the process)."""
    import base64
    from urllib.parse import urlencode

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    f = json.loads(Path(fixtures_path).read_text())
    http = Client(HTTP_HOST="127.0.0.1")
    token_path = reverse("oauth2_provider:token")

    def post_form(path, body, creds):
        # The token endpoint takes application/x-www-form-urlencoded only (RFC 6749 4.1.3).
        return http.post(
            path, urlencode(body), content_type="application/x-www-form-urlencoded", **basic(creds)
        )

    def basic(creds):
        raw = f"{creds['client_id']}:{creds['client_secret']}".encode()
        return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}

    def mint_code():
        out = Path(fixtures_path).with_name("queries-code.txt")
        codes(n=1, out=out, user_id=f["user_id"])
        return out.read_text().split()[0]

    def exchange():
        body = {
            "grant_type": "authorization_code",
            "code": mint_code(),
            "redirect_uri": f["redirect_uri"],
            "code_verifier": f["code_verifier"],
        }
        return lambda: post_form(token_path, body, f["rp"])

    def tokens():
        response = exchange()()
        if response.status_code != 200:
            raise SystemExit(f"code exchange answered {response.status_code}: {response.content[:300]!r}")
        return response.json()

    def refresh():
        token = tokens()["refresh_token"]
        body = {"grant_type": "refresh_token", "refresh_token": token}
        return lambda: post_form(token_path, body, f["rp"])

    def userinfo():
        token = tokens()["access_token"]
        return lambda: http.get(reverse("oauth2_provider:user-info"), HTTP_AUTHORIZATION=f"Bearer {token}")

    def introspection():
        body = {"token": tokens()["access_token"], "token_type_hint": "access_token"}
        return lambda: post_form(reverse("oauth2_provider:introspect"), body, f["rp"])

    def client_credentials():
        return lambda: post_form(token_path, {"grant_type": "client_credentials"}, f["cc"])

    builders = {"1": client_credentials, "2": exchange, "3": refresh, "5": userinfo, "10": introspection}
    build = builders[scenario]
    build()()  # warm: keys decrypted, caches filled
    send = build()
    with CaptureQueriesContext(connection) as captured:
        response = send()
    print(f"scenario {scenario}: HTTP {response.status_code}, {len(captured)} SQL statements per request")
    for query in captured.captured_queries:
        print(f"  {query['sql'][:160]}")


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("setup")
    p.add_argument("--out", required=True)
    p.add_argument("--users", type=int, default=8)
    p.add_argument("--sample-api-audience", default="")
    p = sub.add_parser("codes")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--user-id", required=True)
    sub.add_parser("truncate-tokens")
    sub.add_parser("counts")
    p = sub.add_parser("bulk-tokens")
    p.add_argument("--rows", type=int, required=True)
    p.add_argument("--grew", default="", help="tables the probe's requests added rows to, comma-separated")
    p = sub.add_parser("queries")
    p.add_argument("--scenario", required=True, choices=["1", "2", "3", "5", "10"])
    p.add_argument("--fixtures", required=True)
    args = parser.parse_args(argv)

    import django

    django.setup()
    if args.cmd == "setup":
        setup(users=args.users, out=args.out, sample_api_audience=args.sample_api_audience)
    elif args.cmd == "codes":
        codes(n=args.n, out=args.out, user_id=args.user_id)
    elif args.cmd == "truncate-tokens":
        truncate_tokens()
    elif args.cmd == "counts":
        counts()
    elif args.cmd == "bulk-tokens":
        bulk_tokens(rows=args.rows, grew=set(filter(None, args.grew.split(","))))
    elif args.cmd == "queries":
        queries(scenario=args.scenario, fixtures_path=args.fixtures)


if __name__ == "__main__":
    main()
