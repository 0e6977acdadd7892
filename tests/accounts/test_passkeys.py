"""Passkeys (accounts/passkeys.py, accounts/passkey_views.py) through their JSON endpoints.

A software authenticator (below) makes real WebAuthn responses, signed with its own P-256 key, so every
check py_webauthn and Signet make runs on them: the challenge, the origin, the RP ID hash, the flags,
the signature and the counter. The browser tests (tests/browser/test_passkeys.py) do the same with
Chromium's virtual authenticator.
"""

import hashlib
import json
import secrets
import struct
import time

import pytest
from axes.models import AccessAttempt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from django.core import mail
from webauthn.helpers import bytes_to_base64url, encode_cbor

from accounts import authn, passkeys
from accounts.models import Passkey
from accounts.sessions import AUTH_TIME_KEY
from provider.audit.models import AuditEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ORIGIN = "http://testserver"  # OIDC_ISSUER in the test settings
RP_ID = "testserver"
UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64(data):
    return bytes_to_base64url(data)


class SoftAuthenticator:
    """One discoverable credential on a software authenticator; it answers WebAuthn options as JSON."""

    def __init__(self, *, synced=False, user_verifying=True, counting=True):
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = secrets.token_bytes(16)
        self.synced = synced
        self.user_verifying = user_verifying
        self.counting = counting
        self.sign_count = 0
        self.user_handle = None

    @property
    def id(self):
        return b64(self.credential_id)

    def _cose_key(self):
        numbers = self.key.public_key().public_numbers()
        return encode_cbor(
            {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")}
        )

    def _auth_data(self, rp_id, *, attested=False, user_verified=None):
        flags = UP | (UV if (self.user_verifying if user_verified is None else user_verified) else 0)
        flags |= (BE | BS) if self.synced else 0
        data = hashlib.sha256(rp_id.encode()).digest() + bytes([flags | (AT if attested else 0)])
        data += struct.pack(">I", self.sign_count)
        if attested:
            data += (
                bytes(16) + struct.pack(">H", len(self.credential_id)) + self.credential_id + self._cose_key()
            )
        return data

    @staticmethod
    def _client_data(kind, options, origin):
        return json.dumps({"type": kind, "challenge": options["challenge"], "origin": origin}).encode()

    def create(self, options, *, origin=ORIGIN, rp_id=None):
        self.user_handle = options["user"]["id"]
        auth_data = self._auth_data(rp_id or options["rp"]["id"], attested=True)
        attestation = encode_cbor({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(self._client_data("webauthn.create", options, origin)),
                "attestationObject": b64(attestation),
                "transports": ["internal", "not-a-transport"],
            },
        }

    def get(self, options, *, origin=ORIGIN, sign_count=None, user_verified=None):
        if sign_count is not None:
            self.sign_count = sign_count
        elif self.counting:
            self.sign_count += 1
        auth_data = self._auth_data(options["rpId"], user_verified=user_verified)
        client_data = self._client_data("webauthn.get", options, origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64(client_data),
                "authenticatorData": b64(auth_data),
                "signature": b64(signature),
                "userHandle": self.user_handle,
            },
        }


# --- helpers ---------------------------------------------------------------------------------


def post(client, name, body=None, **extra):
    from django.urls import reverse

    return client.post(
        reverse(f"accounts:{name}"), data=json.dumps(body or {}), content_type="application/json", **extra
    )


@pytest.fixture
def signed_in(client, user):
    """A browser session that signed in with a password just now."""
    client.post("/accounts/login/", {"username": user.email, "password": PASSWORD})
    assert client.session.get(AUTH_TIME_KEY)
    return client


def register(client, authenticator, name="Laptop"):
    options = post(client, "passkey_register_options").json()
    return post(client, "passkey_register", {"credential": authenticator.create(options), "name": name})


def sign_in_with(client, authenticator, next_url=None, **get):
    options = post(client, "passkey_sign_in_options").json()
    return post(
        client, "passkey_sign_in", {"credential": authenticator.get(options, **get), "next": next_url}
    )


@pytest.fixture
def registered(signed_in, user):
    """Alice with one device-bound passkey; the session that registered it signed out."""
    authenticator = SoftAuthenticator()
    assert register(signed_in, authenticator).status_code == 201
    signed_in.logout()
    return authenticator


def events(name):
    return list(AuditEvent.objects.filter(event=name))


# --- registration ----------------------------------------------------------------------------


def test_register_stores_a_discoverable_passkey_audits_and_emails(signed_in, user):
    options = post(signed_in, "passkey_register_options").json()
    assert options["rp"] == {"name": "Signet", "id": RP_ID}
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "preferred"
    # The user handle is the user's UUID bytes, never the email.
    assert options["user"]["id"] == b64(user.pk.bytes) and user.email.encode() not in user.pk.bytes
    authenticator = SoftAuthenticator()
    response = post(
        signed_in, "passkey_register", {"credential": authenticator.create(options), "name": " My  key "}
    )
    assert response.status_code == 201, response.content
    passkey = Passkey.objects.get(user=user)
    assert passkey.name == "My key" and passkey.credential_id == authenticator.id
    assert passkey.transports == ["internal"] and not passkey.backup_eligible
    assert [e.data["passkey"] for e in events("passkey.added")] == [passkey.pk]
    assert len(mail.outbox) == 1 and "My key" in mail.outbox[0].body and mail.outbox[0].to == [user.email]
    assert "added" in mail.outbox[0].subject
    # The next registration excludes it: the same authenticator is not registered twice.
    again = post(signed_in, "passkey_register_options").json()
    assert [c["id"] for c in again["excludeCredentials"]] == [authenticator.id]


def test_register_needs_a_recent_sign_in(signed_in, user):
    session = signed_in.session
    session[AUTH_TIME_KEY] = int(time.time()) - 301
    session.save()
    response = post(signed_in, "passkey_register_options")
    assert response.status_code == 403 and response.json()["error"] == "reauthentication_required"
    assert response.json()["reauth_url"].startswith("/accounts/reauth/")


def test_register_needs_a_sign_in(client):
    response = post(client, "passkey_register_options")
    assert response.status_code == 403 and response.json()["error"] == "login_required"


def test_registration_made_for_another_origin_is_refused(signed_in, user):
    options = post(signed_in, "passkey_register_options").json()
    credential = SoftAuthenticator().create(options, origin="http://testserver:8443")
    response = post(signed_in, "passkey_register", {"credential": credential})
    assert response.status_code == 400
    assert response.json()["error"] == "wrong_origin" and ORIGIN in response.json()["message"]
    assert not Passkey.objects.exists()


def test_registration_for_another_rp_id_is_refused(signed_in):
    options = post(signed_in, "passkey_register_options").json()
    credential = SoftAuthenticator().create(options, rp_id="evil.example")
    response = post(signed_in, "passkey_register", {"credential": credential})
    assert response.status_code == 400 and response.json()["error"] == "invalid_response"
    assert not Passkey.objects.exists()


def test_a_challenge_answers_once(signed_in):
    options = post(signed_in, "passkey_register_options").json()
    credential = SoftAuthenticator().create(options)
    assert post(signed_in, "passkey_register", {"credential": credential}).status_code == 201
    replay = post(signed_in, "passkey_register", {"credential": credential})
    assert replay.status_code == 400 and replay.json()["error"] == "challenge_expired"


def test_a_challenge_expires(signed_in, monkeypatch):
    options = post(signed_in, "passkey_register_options").json()
    monkeypatch.setattr(passkeys, "clock", lambda: time.time() + passkeys.CHALLENGE_SECONDS + 1)
    response = post(signed_in, "passkey_register", {"credential": SoftAuthenticator().create(options)})
    assert response.status_code == 400 and response.json()["error"] == "challenge_expired"


# --- signing in with a passkey alone ----------------------------------------------------------


def test_sign_in_with_a_passkey_alone(client, registered, user):
    options = post(client, "passkey_sign_in_options").json()
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    response = post(
        client, "passkey_sign_in", {"credential": registered.get(options), "next": "/authorize?x=1"}
    )
    assert response.status_code == 200 and response.json() == {"redirect": "/authorize?x=1"}
    assert client.get("/accounts/profile/").status_code == 200  # the session really is signed in
    assert client.session[authn.METHODS_KEY] == ["hwk", "user", "mfa"]
    assert authn.acr_for(client.session[authn.METHODS_KEY]) == authn.ACR_PHISHING_RESISTANT
    passkey = Passkey.objects.get()
    assert passkey.sign_count == 1 and passkey.last_used_at is not None
    assert [e.data["purpose"] for e in events("passkey.used")] == ["sign_in"]


def test_a_passkey_sign_in_counts_as_a_passkey_not_a_password(client, registered, settings):
    from prometheus_client import REGISTRY

    settings.SIGNET_METRICS = True

    def count(method):
        labels = {"method": method, "outcome": "success"}
        return REGISTRY.get_sample_value("signet_sign_ins_total", labels) or 0

    before = count("pwd"), count("hwk")
    assert sign_in_with(client, registered).status_code == 200
    assert (count("pwd"), count("hwk")) == (before[0], before[1] + 1)


def test_a_synced_passkey_is_a_software_key(signed_in, user):
    authenticator = SoftAuthenticator(synced=True, counting=False)
    assert register(signed_in, authenticator).status_code == 201
    signed_in.logout()
    assert sign_in_with(signed_in, authenticator).status_code == 200
    assert signed_in.session[authn.METHODS_KEY] == ["swk", "user", "mfa"]
    passkey = Passkey.objects.get()
    assert passkey.backup_eligible and passkey.backed_up and passkey.sign_count == 0


def test_next_off_site_is_not_followed(client, registered):
    response = sign_in_with(client, registered, next_url="https://evil.example/")
    assert response.json() == {"redirect": "/accounts/profile/"}


def test_sign_in_alone_needs_user_verification(client, registered):
    response = sign_in_with(client, registered, user_verified=False)
    assert response.status_code == 400 and response.json()["error"] == "invalid_response"
    assert authn.METHODS_KEY not in client.session


def test_an_assertion_made_for_another_origin_is_refused(client, registered):
    response = sign_in_with(client, registered, origin="http://localhost:9999")
    assert response.status_code == 400 and response.json()["error"] == "wrong_origin"
    assert "_auth_user_id" not in client.session


def test_an_unknown_passkey_signs_nobody_in_and_locks_nobody(client, registered, settings):
    stranger = SoftAuthenticator()
    stranger.user_handle = registered.user_handle
    for _ in range(settings.SIGNET_LOGIN_FAILURE_LIMIT + 1):
        response = sign_in_with(client, stranger)
        assert response.status_code == 400 and response.json()["error"] == "unknown_passkey"
    assert not AccessAttempt.objects.exists()
    assert sign_in_with(client, registered).status_code == 200


def test_a_user_handle_naming_someone_else_is_refused(client, registered, django_user_model):
    mallory = django_user_model.objects.create_user("mallory@example.com", PASSWORD)
    registered.user_handle = b64(mallory.pk.bytes)
    response = sign_in_with(client, registered)
    assert response.status_code == 400 and response.json()["error"] == "unknown_passkey"


def test_a_cloned_authenticator_is_refused_and_audited(client, registered):
    assert sign_in_with(client, registered, sign_count=10).status_code == 200
    client.logout()
    # A copy of the key that has signed less often than the original.
    response = sign_in_with(client, registered, sign_count=5)
    assert response.status_code == 403 and response.json()["error"] == "clone_suspected"
    assert "_auth_user_id" not in client.session
    [event] = events("passkey.clone_suspected")
    assert event.data == {"passkey": Passkey.objects.get().pk, "stored_count": 10, "presented_count": 5}
    assert registered.id not in json.dumps(event.data)  # no credential material in the row
    # A counter that stopped moving is refused too; the stored counter stays where it was.
    response = sign_in_with(client, registered, sign_count=10)
    assert response.json()["error"] == "clone_suspected"
    assert Passkey.objects.get().sign_count == 10


def test_a_removed_passkey_no_longer_signs_in(signed_in, user):
    authenticator = SoftAuthenticator()
    register(signed_in, authenticator)
    passkey = Passkey.objects.get()
    response = signed_in.post(f"/accounts/passkeys/{passkey.pk}/remove/")
    assert response.status_code == 302
    assert not Passkey.objects.exists() and len(events("passkey.removed")) == 1
    assert len(mail.outbox) == 2 and "removed" in mail.outbox[1].body and "Laptop" in mail.outbox[1].body
    signed_in.logout()
    response = sign_in_with(signed_in, authenticator)
    assert response.status_code == 400 and response.json()["error"] == "unknown_passkey"


def test_removing_needs_a_recent_sign_in_and_only_ones_own(signed_in, user, django_user_model):
    register(signed_in, SoftAuthenticator())
    passkey = Passkey.objects.get()
    mallory = django_user_model.objects.create_user("mallory@example.com", PASSWORD)
    other = signed_in.__class__()
    other.force_login(mallory, backend=passkeys.SESSION_BACKEND)
    session = other.session
    session[AUTH_TIME_KEY] = int(time.time())
    session.save()
    other.post(f"/accounts/passkeys/{passkey.pk}/remove/")
    assert Passkey.objects.filter(pk=passkey.pk).exists()
    session = signed_in.session
    session[AUTH_TIME_KEY] = int(time.time()) - 301
    session.save()
    response = signed_in.post(f"/accounts/passkeys/{passkey.pk}/remove/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/reauth/?next=")
    assert Passkey.objects.filter(pk=passkey.pk).exists()


def test_rename(signed_in, user):
    register(signed_in, SoftAuthenticator(), name="Key\x00\u202e one")
    passkey = Passkey.objects.get()
    assert passkey.name == "Key one"  # no NUL (PostgreSQL refuses it), no control or format characters
    signed_in.post(f"/accounts/passkeys/{passkey.pk}/rename/", {"name": "  Phone\n"})
    assert Passkey.objects.get().name == "Phone"


# --- a passkey as the second factor, and as a step-up ----------------------------------------


def pending(client, user, methods=("pwd",)):
    """A password proven, a second factor owed (what the mfa sign-in flow leaves in the session)."""
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.session = client.session
    authn.pending_start(request=request, user=user, methods=list(methods))
    request.session.save()
    client.cookies["sessionid"] = request.session.session_key


def verify_with(client, authenticator, **get):
    options = post(client, "passkey_verify_options").json()
    return post(client, "passkey_verify", {"credential": authenticator.get(options, **get), "next": "/x"})


def test_second_factor_after_a_password(client, registered, user):
    pending(client, user)
    options = post(client, "passkey_verify_options").json()
    assert [c["id"] for c in options["allowCredentials"]] == [registered.id]
    assert options["userVerification"] == "preferred"
    response = post(client, "passkey_verify", {"credential": registered.get(options), "next": "/x"})
    assert response.status_code == 200 and response.json() == {"redirect": "/x"}
    assert client.session[authn.METHODS_KEY] == ["pwd", "hwk", "user", "mfa"]
    assert authn.PENDING_KEY not in client.session and client.get("/accounts/profile/").status_code == 200


def test_second_factor_without_user_verification(client, registered, user):
    pending(client, user)
    assert verify_with(client, registered, user_verified=False).status_code == 200
    assert client.session[authn.METHODS_KEY] == ["pwd", "hwk", "mfa"]


def test_second_factor_takes_only_the_pending_users_passkey(client, registered, user, django_user_model):
    mallory = django_user_model.objects.create_user("mallory@example.com", PASSWORD)
    pending(client, mallory)
    response = post(client, "passkey_verify_options")
    assert response.status_code == 400 and response.json()["error"] == "no_passkeys"


def test_second_factor_failures_count_toward_the_lockout(client, registered, user, settings):
    pending(client, user)
    for _ in range(settings.SIGNET_LOGIN_FAILURE_LIMIT):
        response = verify_with(client, registered, origin="http://evil.example")
        assert response.json()["error"] == "wrong_origin"
    assert (
        AccessAttempt.objects.get(username=user.email).failures_since_start
        == settings.SIGNET_LOGIN_FAILURE_LIMIT
    )
    # Locked now: even the right passkey is refused, with the lock's own message.
    response = verify_with(client, registered)
    assert response.status_code == 429 and response.json()["error"] == "locked_out"
    assert "_auth_user_id" not in client.session


def test_verify_without_a_sign_in_under_way(client, registered):
    response = post(client, "passkey_verify_options")
    assert response.status_code == 403 and response.json()["error"] == "no_sign_in"


def test_step_up_of_a_signed_in_session(signed_in, user):
    authenticator = SoftAuthenticator()
    register(signed_in, authenticator)
    sid = signed_in.session["signet_sid"]
    assert signed_in.session[authn.METHODS_KEY] == ["pwd"]
    # Long signed in: the passkey is also how the re-authentication page proves it is still them.
    session = signed_in.session
    session[AUTH_TIME_KEY] = int(time.time()) - 3600
    session.save()
    before = int(time.time())
    assert verify_with(signed_in, authenticator).status_code == 200
    assert signed_in.session[authn.METHODS_KEY] == ["pwd", "hwk", "user", "mfa"]
    assert signed_in.session["signet_sid"] == sid
    assert signed_in.session[AUTH_TIME_KEY] >= before  # renewed by this verification


# --- what the JSON endpoints answer to bad requests ------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        b'{"credential": "x"}',
        b'{"credential": {}}',
        b'{"credential": {"id": 5, "response": []}}',
        b'{"credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key", '
        b'"response": {"clientDataJSON": "!!"}}}',
        b'{"credential": {"id": "AAAA", "response": '
        b'{"clientDataJSON": "e30", "authenticatorData": "", "signature": ""}}}',
        b"[" * 5000,
    ],
)
def test_bad_bodies_get_a_json_error(client, registered, body):
    post(client, "passkey_sign_in_options")
    response = client.post("/accounts/passkeys/sign-in/", data=body, content_type="application/json")
    assert response.status_code == 400 and set(response.json()) == {"error", "message"}


def test_a_credential_id_with_a_nul_never_reaches_the_database(client, registered):
    # PostgreSQL refuses a NUL in a query parameter: it must be refused as bad input first.
    options = post(client, "passkey_sign_in_options").json()
    credential = {**registered.get(options), "id": registered.id + "\u0000"}
    response = post(client, "passkey_sign_in", {"credential": credential})
    assert response.status_code == 400 and response.json()["error"] == "invalid_response"


def test_get_and_missing_csrf_are_json_errors(registered):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert client.get("/accounts/passkeys/sign-in/options/").status_code == 405
    response = client.post("/accounts/passkeys/sign-in/options/", data="{}", content_type="application/json")
    assert response.status_code == 403 and response.json()["error"] == "csrf_failed"
    client.get("/accounts/login/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/accounts/passkeys/sign-in/options/",
        data="{}",
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200 and response.json()["challenge"]


def test_counter_rule():
    assert not passkeys.counter_went_back(0, 0)  # a passkey that keeps no counter (synced ones)
    assert not passkeys.counter_went_back(0, 1) and not passkeys.counter_went_back(4, 5)
    assert (
        passkeys.counter_went_back(5, 5)
        and passkeys.counter_went_back(5, 4)
        and passkeys.counter_went_back(5, 0)
    )


def test_the_security_page_lists_passkeys_and_the_login_page_offers_one(signed_in, user):
    register(signed_in, SoftAuthenticator(), name="Work laptop")
    passkey = Passkey.objects.get()
    page = signed_in.get("/accounts/security/").content.decode()
    assert "Work laptop" in page and f'action="/accounts/passkeys/{passkey.pk}/remove/"' in page
    assert 'src="/static/accounts/passkeys.js"' in page and 'data-passkey="register"' in page
    assert passkey.credential_id not in page  # no credential material on the page
    signed_in.logout()
    login = signed_in.get("/accounts/login/?next=/authorize%3Fclient_id%3Dx").content.decode()
    assert 'data-passkey="sign-in"' in login and 'data-next="/authorize?client_id=x"' in login
    assert 'autocomplete="username webauthn"' in login


def test_removing_the_last_second_factor_ends_the_recovery_codes(signed_in, user):
    from accounts import recovery_codes

    register(signed_in, SoftAuthenticator())
    recovery_codes.recovery_codes_generate(user=user)
    signed_in.post(f"/accounts/passkeys/{Passkey.objects.get().pk}/remove/")
    assert recovery_codes.remaining(user) == 0


def test_the_user_admin_shows_passkeys_without_credential_material(signed_in, user, django_user_model):
    authenticator = SoftAuthenticator()
    register(signed_in, authenticator, name="Desk key")
    passkey = Passkey.objects.get()
    operator = django_user_model.objects.create_superuser("operator@example.com", "operator password 123")
    signed_in.force_login(operator)
    page = signed_in.get(f"/admin/accounts/user/{user.pk}/change/").content.decode()
    assert "passkeys (1): Desk key" in page  # the mfa engineer's "Second factors" field
    assert passkey.credential_id not in page and b64(bytes(passkey.public_key)) not in page


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "content_type, body",
    [
        (b"application/json", b'{"credential": {"id": "\xc3\x28"}}'),  # invalid UTF-8
        (b"application/json", b'{"credential": {"id": "A\x00A", "rawId": "\x00"}}'),
        (b"application/json", b'{"credential": {"id": "AAAA", "response": {"clientDataJSON": "\\ud800"}}}'),
        (
            b"multipart/form-data; boundary=x",
            b"--x\r\nContent-Disposition: form-data; name=a\r\n\r\nb\r\n--x--",
        ),
        (b"application/x-www-form-urlencoded", b"credential=%ff"),
    ],
)
def test_hostile_bytes_over_http_get_a_json_400(issuer, user, content_type, body):
    from tests.support import raw_http

    token = secrets.token_hex(16)  # Django accepts the unmasked secret when cookie and header agree
    headers = [
        ("Content-Type", content_type),
        ("Cookie", b"csrftoken=" + token.encode()),
        ("X-CSRFToken", token.encode()),
    ]
    for path in (
        b"/accounts/passkeys/sign-in/",
        b"/accounts/passkeys/verify/",
        b"/accounts/passkeys/register/",
    ):
        response = raw_http.send(issuer, "POST", path, headers=headers, body=body)
        assert response.status_code in (400, 403), (path, response.status_code, response.text[:300])
        assert set(response.json()) >= {"error", "message"}


def test_passkey_checks_are_counted_by_kind(client, registered, settings):
    from prometheus_client import REGISTRY

    settings.SIGNET_METRICS = True

    def count(method, outcome):
        labels = {"method": method, "outcome": outcome}
        return REGISTRY.get_sample_value("signet_sign_ins_total", labels) or 0

    before = count("hwk", "success"), count("hwk", "failure")
    assert sign_in_with(client, registered, user_verified=False).status_code == 400
    assert sign_in_with(client, registered).status_code == 200
    assert (count("hwk", "success"), count("hwk", "failure")) == (before[0] + 1, before[1] + 1)


def test_a_step_up_for_phr_can_require_user_verification(signed_in, user):
    authenticator = SoftAuthenticator()
    register(signed_in, authenticator)
    options = post(signed_in, "passkey_verify_options", {"userVerification": "required"}).json()
    assert options["userVerification"] == "required"
    response = post(
        signed_in, "passkey_verify", {"credential": authenticator.get(options, user_verified=False)}
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_response"
    assert (
        verify_with(signed_in, authenticator, user_verified=False).status_code == 200
    )  # preferred: accepted


def test_the_second_step_page_asks_the_passkey_for_verification_when_phr_is_wanted(client, registered, user):
    pending(client, user)
    plain = client.get("/accounts/login/verify/?next=/x").content.decode()
    assert 'data-passkey="verify"' in plain and "data-user-verification" not in plain
    phr = client.get("/accounts/login/verify/?next=/x&acr=phr").content.decode()
    assert 'data-user-verification="required"' in phr


def test_a_challenge_read_by_two_requests_at_once_answers_one(signed_in, user):
    from importlib import import_module
    from types import SimpleNamespace

    from django.conf import settings

    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
    post(signed_in, "passkey_register_options")
    key = signed_in.cookies["sessionid"].value
    # Both requests load the session before either has saved it (the session middleware saves last).
    first, second = SimpleNamespace(session=SessionStore(key)), SimpleNamespace(session=SessionStore(key))
    assert passkeys.CHALLENGE_KEY in first.session and passkeys.CHALLENGE_KEY in second.session
    passkeys._challenge_take(first, purpose=passkeys.REGISTER, user=user)
    with pytest.raises(passkeys.PasskeyError) as refused:
        passkeys._challenge_take(second, purpose=passkeys.REGISTER, user=user)
    assert refused.value.error == "challenge_expired"


@pytest.mark.parametrize(
    "issuer, expected",
    [
        ("https://id.example.com", ("id.example.com", "https://id.example.com")),
        ("https://id.example.com:443/tenant", ("id.example.com", "https://id.example.com")),
        ("https://ID.Example.com:8443", ("id.example.com", "https://id.example.com:8443")),
        ("http://localhost:8000", ("localhost", "http://localhost:8000")),
    ],
)
def test_the_relying_party_is_the_issuers_host_and_origin(settings, issuer, expected):
    settings.OIDC_ISSUER = issuer
    assert passkeys.relying_party() == expected
