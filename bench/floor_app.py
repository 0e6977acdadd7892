"""Scenario 0's server: the least a Django view under gunicorn can do for a client-credentials token.

Not Signet and not a provider: no DOT, no middleware, no rate limit, no audit, one hard-coded
client. Each endpoint adds one piece of the work every stored-token provider does, so the figures
show where the framework's own floor sits next to the peer:

  /empty   Django's request handling only: a constant JSON body;
  /sign    + Basic authentication against a hashed secret + one RS256 JWT (cryptography);
  /store   + one INSERT of the token's checksum into PostgreSQL (raw cursor, autocommit).

And the least a userinfo or an introspection answer can cost, for scenarios 5 and 10:

  /read        a Bearer RS256 JWT from the Authorization header, verified (cryptography), and one
               SELECT of one row by a unique key (raw cursor): the userinfo floor;
  /introspect  + Basic authentication, the token from the form body: the introspection floor.

Run by bench/run.py (scenario 0) under the same gunicorn settings as Signet; bench/servers.Floor
creates its table.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets
import time

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY=secrets.token_urlsafe(50),
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": os.environ["FLOOR_DBNAME"],
            "USER": "postgres",
            "HOST": "127.0.0.1",
            "PORT": "5432",
            "CONN_MAX_AGE": 600,
        }
    },
    USE_TZ=True,
)
django.setup()

from cryptography.exceptions import InvalidSignature  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import padding, rsa  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402
from django.views.decorators.csrf import csrf_exempt  # noqa: E402

CLIENT_ID = os.environ.get("FLOOR_CLIENT_ID", "floor-client")
CLIENT_SECRET = os.environ.get("FLOOR_CLIENT_SECRET", "floor-secret")
SALT = secrets.token_bytes(16)
STORED = hashlib.sha256(SALT + CLIENT_SECRET.encode()).digest()
# One key for every worker when the harness hands one over (it signs the tokens /read checks).
if os.environ.get("FLOOR_KEY_PEM"):
    KEY = serialization.load_pem_private_key(os.environ["FLOOR_KEY_PEM"].encode(), password=None)
else:
    KEY = rsa.generate_private_key(
        public_exponent=65537, key_size=int(os.environ.get("FLOOR_KEY_SIZE", "2048"))
    )
PUBLIC = KEY.public_key()
ROW_CHECKSUM = "f" * 64  # the row bench/servers.Floor inserts
ISSUER = "http://127.0.0.1"
HEADER = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"at+jwt","kid":"floor"}').rstrip(b"=")


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _json(body, status=200):
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    return response


def _authenticated(request):
    try:
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        client_id, _, secret = base64.b64decode(value).decode().partition(":")
    except ValueError:
        return False
    presented = hashlib.sha256(SALT + secret.encode()).digest()
    return scheme == "Basic" and client_id == CLIENT_ID and hmac.compare_digest(presented, STORED)


def _issue(request):
    if request.method != "POST" or request.POST.get("grant_type") != "client_credentials":
        return None, _json({"error": "unsupported_grant_type"}, 400)
    if not _authenticated(request):
        return None, _json({"error": "invalid_client"}, 401)
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": CLIENT_ID,
        "aud": CLIENT_ID,
        "client_id": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "jti": secrets.token_urlsafe(16),
        "scope": "",
    }
    signing_input = HEADER + b"." + _b64(json.dumps(claims, separators=(",", ":")).encode())
    signature = KEY.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    token = (signing_input + b"." + _b64(signature)).decode()
    return token, None


def _answer(token):
    return _json({"access_token": token, "token_type": "Bearer", "expires_in": 600})


def empty(request):
    return _json({"ok": True})


@csrf_exempt
def sign(request):
    token, error = _issue(request)
    return error or _answer(token)


@csrf_exempt
def store(request):
    token, error = _issue(request)
    if error:
        return error
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_floor_token (checksum, client_id, expires)"
            " VALUES (%s, %s, now() + interval '600 s')",
            [hashlib.sha256(token.encode()).hexdigest(), CLIENT_ID],
        )
    return _answer(token)


def _verified(token):
    """The claims of a JWT this floor's key signed, or None."""
    try:
        signing_input, _, signature = token.encode("ascii").rpartition(b".")
        PUBLIC.verify(
            base64.urlsafe_b64decode(signature + b"=" * (-len(signature) % 4)),
            signing_input,
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
        payload = signing_input.split(b".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
    except (ValueError, IndexError, InvalidSignature):
        return None


def _row():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, client_id, expires FROM bench_floor_token WHERE checksum = %s", [ROW_CHECKSUM]
        )
        return cursor.fetchone()


def read(request):
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    claims = _verified(token) if scheme == "Bearer" else None
    if claims is None:
        return _json({"error": "invalid_token"}, 401)
    row = _row()
    return _json({"sub": claims["sub"], "row": row[0], "client_id": row[1]})


@csrf_exempt
def introspect(request):
    if not _authenticated(request):
        return _json({"error": "invalid_client"}, 401)
    claims = _verified(request.POST.get("token", ""))
    if claims is None:
        return _json({"active": False})
    row = _row()
    return _json({"active": True, "sub": claims["sub"], "scope": claims["scope"], "row": row[0]})


urlpatterns = [
    path("empty", empty),
    path("sign", sign),
    path("store", store),
    path("read", read),
    path("introspect", introspect),
]
application = get_wsgi_application()
