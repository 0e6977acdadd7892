"""After a full run, no secret anywhere it could leak: logs, database rows, admin pages, JWKS, error
responses (RFC 6819 5.1.4.1.3 / 5.1.6, RFC 9700 4.14: credentials and tokens at rest and in logs).

The run: a failed login, a login with consent, a code exchange, userinfo, introspection, refreshes,
a refresh-token replay (family revoked), client credentials, wrong client secrets, revocation,
RP-initiated logout, a key rotation, and an operator browsing every admin page.
The secrets: passwords (right and wrong), client secrets (right and wrong), the code and its PKCE
verifier, every token and every JWT signature, the session id, SECRET_KEY, the key-encryption key
and the private members of every signing key.
"""

import io
import logging
import re
import secrets

import pytest
import requests
from django.apps import apps
from django.conf import settings

from tests.conftest import PASSWORD, POST_LOGOUT_URI, REDIRECT_URI
from tests.support.browser import Browser, pkce_pair, query
from tests.support.values import altered

from .conftest import authorize_params

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.reliability]

PRIVATE_JWK_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "k")


class _Capture(logging.Handler):
    """Everything logged during the run: the formatted line (what reaches stdout) and the raw record."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        from provider.logging import JsonFormatter

        self.setFormatter(JsonFormatter())
        self.formatted = io.StringIO()
        self.raw = io.StringIO()

    def emit(self, record):
        self.formatted.write(self.format(record) + "\n")
        self.raw.write(f"{record.getMessage()} {getattr(record, 'fields', '')} {record.exc_text or ''}\n")


def _found(haystack, needles):
    return sorted({name for name, value in needles.items() if value and value in haystack})


@pytest.fixture
def capture_logs():
    handler = _Capture()
    root = logging.getLogger()
    root.addHandler(handler)
    yield handler
    root.removeHandler(handler)


def test_no_secret_in_logs_database_admin_jwks_or_errors(
    issuer, user, rp_client, django_user_model, capture_logs
):
    from keys.selectors import published_keys, reset_cache
    from keys.services import key_rotate
    from provider.oidc.services import client_create

    client, secret = rp_client
    service, service_secret = client_create(
        name="Service", client_type="confidential", grant="client-credentials"
    )
    admin_password = "operator passphrase " + secrets.token_hex(8)
    django_user_model.objects.create_superuser("operator@example.com", admin_password)
    wrong_password = "my real password typo " + secrets.token_hex(6)
    wrong_secret = altered(secret, 6)

    found = {}
    errors = []  # every response that is an error, for the error-response scan

    def keep_errors(response, *args, **kwargs):
        location = response.headers.get("Location", "")
        if response.status_code >= 400 or "error=" in location:
            errors.append(f"{response.status_code} {dict(response.headers)} {response.text}")

    def session(http):
        http.hooks["response"].append(keep_errors)
        return http

    api = session(requests.Session())

    # A failed login, then a login with consent.
    browser = Browser(issuer)
    session(browser.http)
    verifier, challenge = pkce_pair()
    params = authorize_params(client.client_id, challenge)
    page = browser.get("/authorize", params=params)
    page = browser.login(page, user.email, wrong_password)
    assert "not correct" in page.text
    page = browser.submit(page, {"username": user.email, "password": PASSWORD})
    redirect = browser.consent(page)
    code = query(redirect.headers["Location"])["code"]
    session_id = browser.http.cookies.get("sessionid")

    tokens = api.post(
        f"{issuer}/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
        auth=(client.client_id, secret),
        timeout=30,
    ).json()
    assert "refresh_token" in tokens, tokens
    found["code"], found["code_verifier"] = code, verifier
    found["access_token"], found["id_token"] = tokens["access_token"], tokens["id_token"]
    refresh_tokens = [tokens["refresh_token"]]

    api.get(f"{issuer}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=30)
    api.post(
        f"{issuer}/introspect",
        data={"token": tokens["access_token"]},
        auth=(client.client_id, secret),
        timeout=30,
    )
    for _ in range(2):
        refreshed = api.post(
            f"{issuer}/token",
            data={"grant_type": "refresh_token", "refresh_token": refresh_tokens[-1]},
            auth=(client.client_id, secret),
            timeout=30,
        ).json()
        refresh_tokens.append(refreshed["refresh_token"])
        found[f"access_token_{len(refresh_tokens)}"] = refreshed["access_token"]
    # Replay of a rotated refresh token: the family is revoked (and audited).
    replay = api.post(
        f"{issuer}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_tokens[0]},
        auth=(client.client_id, secret),
        timeout=30,
    )
    assert replay.status_code == 400
    machine = api.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(service.client_id, service_secret),
        timeout=30,
    )
    found["client_credentials_token"] = machine.json()["access_token"]
    for endpoint in ("/token", "/introspect", "/revoke"):
        api.post(
            issuer + endpoint,
            data={"grant_type": "client_credentials", "token": "x"},
            auth=(client.client_id, wrong_secret),
            timeout=30,
        )
        api.post(
            issuer + endpoint,
            data={
                "client_id": client.client_id,
                "client_secret": wrong_secret,
                "token": "x",
                "grant_type": "client_credentials",
            },
            timeout=30,
        )
    api.post(
        f"{issuer}/revoke", data={"token": refresh_tokens[-1]}, auth=(client.client_id, secret), timeout=30
    )

    # RP-initiated logout with the ID token as hint.
    browser.get(
        "/logout",
        params={
            "id_token_hint": tokens["id_token"],
            "post_logout_redirect_uri": POST_LOGOUT_URI,
            "state": "bye",
        },
    )

    # A key rotation, then an operator browsing every admin page.
    key_rotate()
    reset_cache()
    private_members = {}
    for key in published_keys():
        material = key.private_jwk.export(private_key=True, as_dict=True)  # a jwcrypto JWK
        for member in PRIVATE_JWK_MEMBERS:
            if material.get(member):
                private_members[f"{key.kid}.{member}"] = material[member]
    admin = Browser(issuer)
    session(admin.http)
    login = admin.get("/admin/login/?next=/admin/")
    admin.submit(login, {"username": "operator@example.com", "password": admin_password})
    admin_html = []
    index = admin.get("/admin/")
    assert index.status_code == 200 and "operator@example.com" in index.text
    for model_admin_url in sorted(set(re.findall(r'href="(/admin/[a-z_]+/[a-z_]+/)"', index.text))):
        changelist = admin.get(model_admin_url)
        admin_html.append(changelist.text)
        for change_url in sorted(
            set(re.findall(r'href="(' + re.escape(model_admin_url) + r'[^"/]+/change/)"', changelist.text))
        )[:5]:
            admin_html.append(admin.get(change_url).text)
    assert len(admin_html) > 8, "the admin pages were browsed"
    jwks = requests.get(f"{issuer}/jwks", timeout=30).json()

    secrets_everywhere = {
        "password": PASSWORD,
        "wrong_password": wrong_password,
        "admin_password": admin_password,
        "client_secret": secret,
        "wrong_client_secret": wrong_secret,
        "service_secret": service_secret,
        "SECRET_KEY": settings.SECRET_KEY,
        "SIGNET_KEY_ENCRYPTION_KEY": settings.SIGNET_KEY_ENCRYPTION_KEY,
        **found,
        **{f"refresh_token_{n}": t for n, t in enumerate(refresh_tokens)},
        **{
            f"{name}.signature": value.split(".")[2] for name, value in found.items() if value.count(".") == 2
        },
        **private_members,
    }
    assert len(private_members) >= 12, "private members of at least two keys"

    log_text = capture_logs.formatted.getvalue()
    assert "login.failed" in log_text or "token" in log_text, "the run was logged"
    problems = {
        "logs (as written)": _found(log_text, {**secrets_everywhere, "session_id": session_id}),
        "logs (raw records)": _found(
            capture_logs.raw.getvalue(), {**secrets_everywhere, "session_id": session_id}
        ),
        "database rows": _found(_database_dump(), secrets_everywhere),
        "admin pages": _found("\n".join(admin_html), {**secrets_everywhere, "session_id": session_id}),
        "JWKS": _found(str(jwks), secrets_everywhere)
        + [f"private member {m}" for k in jwks["keys"] for m in PRIVATE_JWK_MEMBERS if m in k],
        "error responses": _found("\n".join(errors), {**secrets_everywhere, "session_id": session_id}),
    }
    assert len(errors) >= 6, "error responses were collected"
    assert problems == {place: [] for place in problems}


def _database_dump():
    """Every column of every row of every table, as text (what a database dump would hold)."""
    rows = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        for row in model._base_manager.values_list():
            rows.append(" ".join(str(value) for value in row))
    return "\n".join(rows)


def test_the_session_key_is_the_only_secret_the_database_must_hold(issuer, user):
    """Database-backed sessions store the session key (the cookie value) as their primary key; that is
    why the scan above excludes it from the database rows (and only from them)."""
    browser = Browser(issuer)
    browser.login(browser.get("/accounts/login/"), user.email, PASSWORD)
    assert browser.http.cookies.get("sessionid") in _database_dump()
