"""The device authorization grant (RFC 8628) over real HTTP: the device's requests, the user's /device
pages in a browser session, the polling answers, single use (also on PostgreSQL under N simultaneous
polls, from threads and from two OS processes), guessing limits, clients without the grant, and
hostile bytes at /device/authorize."""

import json
import os
from datetime import timedelta
from urllib.parse import quote

import pytest
import requests
from django.core.management import call_command
from django.utils import timezone

from provider.oidc import device
from provider.oidc.models import DeviceAuthorization
from tests.conftest import PASSWORD
from tests.oidc.flows import is_login_page, session_store
from tests.support import raw_http
from tests.support.browser import Browser, forms
from tests.support.processes import race_posts
from tests.tokens.conftest import API, decode, refresh
from tests.tokens.test_refresh_concurrency import N, race

pytestmark = pytest.mark.django_db(transaction=True)

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


@pytest.fixture
def tv(db):
    """A public device client (a TV app): no secret, no redirect URI."""
    from provider.oidc.services import client_create

    client, _ = client_create(
        name="Living-room TV", client_type="public", grant="device-code", audiences=[API]
    )
    return client


@pytest.fixture
def clock(monkeypatch):
    """The device flow's clock, pinned and moved by hand: polling intervals without sleeping."""

    class Clock:
        now = timezone.now()

        def advance(self, seconds):
            self.now += timedelta(seconds=seconds)

    pinned = Clock()
    monkeypatch.setattr("provider.oidc.device.clock", lambda: pinned.now)
    return pinned


def start(issuer, client, **data):
    return requests.post(
        f"{issuer}/device/authorize", data={"client_id": client.client_id, **data}, timeout=10
    )


def started(issuer, client, **data):
    response = start(issuer, client, **data)
    assert response.status_code == 200, response.text
    return response.json()


def poll(issuer, client, device_code, **extra):
    data = {"grant_type": GRANT, "device_code": device_code, "client_id": client.client_id, **extra}
    return requests.post(f"{issuer}/token", data=data, timeout=10)


def error_of(response):
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["Cache-Control"] == "no-store"
    return response.json()["error"]


def signed_in_at_device_page(issuer, url):
    """A fresh browser opening `url` (a /device link), signing in, and landing back on /device."""
    browser = Browser(issuer)
    page = browser.get(url)
    assert is_login_page(page), page.text[:500]
    page = browser.login(page, "alice@example.com", PASSWORD)
    assert 'id="deviceCode"' in page.text, page.text[:2000]
    return browser, page


def answer(browser, page, choice):
    """Continue with the prefilled code, then press Allow (approve) or Deny (deny) on the confirmation."""
    confirm = browser.submit(page)
    assert 'id="deviceDecision"' in confirm.text, confirm.text[:2000]
    done = browser.submit(confirm, {"answer": choice}, form_index=0)
    assert done.status_code == 200, done.text[:2000]
    return confirm, done


# --- the whole flow -------------------------------------------------------------------------
def test_device_request_user_approves_in_the_browser_and_the_poll_gets_tokens(issuer, tv, user):
    body = started(issuer, tv, scope="openid profile offline_access")
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert body["verification_uri"] == f"{issuer}/device"
    assert body["verification_uri_complete"] == f"{issuer}/device?user_code={body['user_code']}"
    assert (body["expires_in"], body["interval"]) == (600, 5)
    user_code = body["user_code"]
    assert len(user_code) == 9 and user_code[4] == "-"
    assert set(user_code.replace("-", "")) <= set(device.USER_CODE_ALPHABET)
    # Stored as a checksum only: the device code itself is nowhere in the database.
    row = DeviceAuthorization.objects.get()
    assert body["device_code"] not in row.device_code_checksum
    assert error_of(poll(issuer, tv, body["device_code"])) == "authorization_pending"

    browser, page = signed_in_at_device_page(issuer, body["verification_uri_complete"])
    assert f'value="{user_code}"' in page.text  # prefilled from ?user_code=
    confirm, done = answer(browser, page, "approve")
    assert "Living-room TV" in confirm.text
    assert "See your name and profile" in confirm.text  # the consent page's scope descriptions
    assert user_code in confirm.text
    assert "Device connected" in done.text

    response = poll(issuer, tv, body["device_code"])
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    tokens = response.json()
    assert {"access_token", "id_token", "refresh_token"} <= set(tokens)
    assert tokens["scope"] == "openid profile offline_access"
    session = session_store(browser)
    id_token = decode(issuer, tokens["id_token"], audience=tv.client_id)
    assert id_token["sub"] == str(user.pk)
    assert id_token["sid"] == session["signet_sid"]
    assert id_token["auth_time"] == session["signet_auth_time"]
    assert id_token["amr"] == ["pwd"]
    access = decode(issuer, tokens["access_token"], audience=API)
    assert access["client_id"] == tv.client_id and access["sub"] == str(user.pk)
    assert (
        requests.get(
            f"{issuer}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=10
        ).json()["given_name"]
        == "Alice"
    )

    # Once: the same device code polled again gets nothing.
    assert error_of(poll(issuer, tv, body["device_code"])) == "invalid_grant"
    # A device client's grant refreshes like any other.
    refreshed = refresh(issuer, tv, None, tokens["refresh_token"], client_id=tv.client_id)
    assert refreshed.status_code == 200, refreshed.text


def test_the_login_keeps_the_code_typed_into_the_link(issuer, tv, user):
    body = started(issuer, tv)
    lower = body["user_code"].lower().replace("-", "")  # what a person might type
    _browser, page = signed_in_at_device_page(issuer, f"/device?user_code={lower}")
    assert f'value="{lower}"' in page.text


def test_a_typed_code_matches_whatever_its_case_and_dashes(issuer, tv, user):
    body = started(issuer, tv)
    browser, page = signed_in_at_device_page(issuer, "/device")
    typed = " " + body["user_code"].lower().replace("-", " - ") + " "
    confirm = browser.submit(page, {"user_code": typed})
    assert 'id="deviceDecision"' in confirm.text, confirm.text[:2000]


def test_scopes_are_those_the_client_may_have(issuer, tv, user, settings):
    assert error_of(start(issuer, tv, scope="openid admin")) == "invalid_scope"
    tv.allowed_scopes = "openid"
    tv.save()
    assert error_of(start(issuer, tv, scope="openid email")) == "invalid_scope"
    assert started(issuer, tv)  # no scope: openid


def test_resources_are_the_clients_audiences(issuer, tv, user):
    assert error_of(start(issuer, tv, resource="https://elsewhere.example.com")) == "invalid_target"
    body = started(issuer, tv, resource=API)
    row = DeviceAuthorization.objects.get()
    assert row.resource == [API]
    device.device_authorization_decide(row=row, user=user, approve=True, auth_time=1, sid="s")
    tokens = poll(issuer, tv, body["device_code"]).json()
    assert decode(issuer, tokens["access_token"], audience=API)["aud"] == API


# --- the polling answers --------------------------------------------------------------------
def test_polling_faster_than_the_interval_is_slow_down_and_raises_it(issuer, tv, clock):
    body = started(issuer, tv)
    assert error_of(poll(issuer, tv, body["device_code"])) == "authorization_pending"
    clock.advance(4)  # sooner than 5 s
    response = poll(issuer, tv, body["device_code"])
    assert error_of(response) == "slow_down"
    assert "10 seconds" in response.json()["error_description"]
    assert DeviceAuthorization.objects.get().interval == 10
    clock.advance(9)  # 5 s would do now, but the interval is 10
    assert error_of(poll(issuer, tv, body["device_code"])) == "slow_down"
    assert DeviceAuthorization.objects.get().interval == 15
    clock.advance(15)
    assert error_of(poll(issuer, tv, body["device_code"])) == "authorization_pending"
    assert DeviceAuthorization.objects.get().interval == 15


def test_a_denied_request_is_access_denied(issuer, tv, user):
    body = started(issuer, tv)
    browser, page = signed_in_at_device_page(issuer, body["verification_uri_complete"])
    _confirm, done = answer(browser, page, "deny")
    assert "Request denied" in done.text
    assert error_of(poll(issuer, tv, body["device_code"])) == "access_denied"
    # Answered: the code no longer opens the confirmation page.
    again = browser.post("/device", {"user_code": body["user_code"], **csrf(browser)})
    assert "unknown or has expired" in again.text


def test_a_user_outside_the_clients_groups_is_told_at_signet_and_the_device_denied(issuer, tv, user):
    from django.contrib.auth.models import Group

    tv.allowed_groups.add(Group.objects.create(name="family"))
    body = started(issuer, tv)
    browser, page = signed_in_at_device_page(issuer, body["verification_uri_complete"])
    refused = browser.submit(page)
    assert refused.status_code == 403, refused.text[:2000]
    assert "not allowed to use Living-room TV" in refused.text
    assert 'id="deviceDecision"' not in refused.text and 'id="accessDeniedForm"' not in refused.text
    # The device is answered at once, not left polling until the code expires.
    assert error_of(poll(issuer, tv, body["device_code"])) == "access_denied"
    assert DeviceAuthorization.objects.get().user == user


def test_an_expired_code_is_expired_token_and_unknown_on_the_page(issuer, tv, user, clock):
    body = started(issuer, tv)
    browser, page = signed_in_at_device_page(issuer, body["verification_uri_complete"])
    clock.advance(600)
    assert error_of(poll(issuer, tv, body["device_code"])) == "expired_token"
    response = browser.submit(page)
    assert response.status_code == 400
    assert "That code is unknown or has expired" in response.text
    # Approved in time, polled too late: still expired.
    row = DeviceAuthorization.objects.get()
    clock.advance(-600)
    assert device.device_authorization_decide(row=row, user=user, approve=True)
    clock.advance(601)
    assert error_of(poll(issuer, tv, body["device_code"])) == "expired_token"


def test_an_unknown_or_another_clients_device_code_is_invalid_grant(issuer, tv, user):
    from provider.oidc.services import client_create

    other, _ = client_create(name="Other TV", client_type="public", grant="device-code")
    body = started(issuer, tv)
    row = DeviceAuthorization.objects.get()
    device.device_authorization_decide(row=row, user=user, approve=True)
    assert error_of(poll(issuer, other, body["device_code"])) == "invalid_grant"
    assert error_of(poll(issuer, tv, "x" * 43)) == "invalid_grant"
    assert error_of(poll(issuer, tv, "\x00")) == "invalid_grant"
    assert error_of(
        requests.post(f"{issuer}/token", data={"grant_type": GRANT, "client_id": tv.client_id})
    ) == ("invalid_request")
    assert poll(issuer, tv, body["device_code"]).status_code == 200  # untouched by the other client


def test_a_disabled_user_gets_no_tokens(issuer, tv, user):
    body = started(issuer, tv)
    device.device_authorization_decide(row=DeviceAuthorization.objects.get(), user=user, approve=True)
    user.is_active = False
    user.save()
    assert error_of(poll(issuer, tv, body["device_code"])) == "invalid_grant"


@pytest.mark.postgres
def test_n_simultaneous_polls_of_one_approved_code_give_tokens_once(issuer, tv, user):
    from provider.oidc.models import TokenFamily

    body = started(issuer, tv, scope="openid offline_access")
    device.device_authorization_decide(
        row=DeviceAuthorization.objects.get(), user=user, approve=True, auth_time=1, sid="s"
    )
    responses = race(N, lambda: poll(issuer, tv, body["device_code"]))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * (N - 1), [r.text for r in responses]
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    assert TokenFamily.objects.filter(client=tv).count() == 1
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.USED


ROUNDS = 8  # one round can be won by scheduling luck; several in a row cannot


@pytest.mark.postgres
def test_one_approved_code_polled_from_two_processes_at_once_gives_tokens_once(issuer, tv, user):
    # Two OS processes, so nothing in this interpreter (the GIL, a lock, a shared connection) can
    # order the polls: each reaches its own live-server thread and database session, and only the
    # row lock decides which one exchanges the code.
    from provider.oidc.models import TokenFamily

    for round_ in range(ROUNDS):
        body = started(issuer, tv, scope="openid offline_access")
        row = DeviceAuthorization.objects.get(status=DeviceAuthorization.PENDING)
        device.device_authorization_decide(row=row, user=user, approve=True, auth_time=1, sid="s")
        fields = {"grant_type": GRANT, "device_code": body["device_code"], "client_id": tv.client_id}
        answers = race_posts(f"{issuer}/token", fields)
        pids = {pid for pid, _status, _text in answers}
        assert len(pids) == 2 and os.getpid() not in pids
        statuses = sorted(status for _pid, status, _text in answers)
        assert statuses == [200, 400], (round_, answers)
        winner = next(json.loads(text) for _pid, status, text in answers if status == 200)
        loser = next(json.loads(text) for _pid, status, text in answers if status == 400)
        assert {"access_token", "id_token", "refresh_token"} <= set(winner)
        assert loser["error"] == "invalid_grant", (round_, loser)
    assert TokenFamily.objects.filter(client=tv).count() == ROUNDS
    assert set(DeviceAuthorization.objects.values_list("status", flat=True)) == {DeviceAuthorization.USED}


# --- who may use it -------------------------------------------------------------------------
def test_a_client_without_the_device_grant_is_unauthorized_client(issuer, rp_client, tv, user):
    client, secret = rp_client
    response = requests.post(f"{issuer}/device/authorize", auth=(client.client_id, secret), timeout=10)
    assert error_of(response) == "unauthorized_client"
    body = started(issuer, tv)
    response = requests.post(
        f"{issuer}/token",
        data={"grant_type": GRANT, "device_code": body["device_code"]},
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert error_of(response) == "unauthorized_client"


def test_a_confidential_device_client_must_authenticate(issuer, db):
    from provider.oidc.services import client_create

    client, secret = client_create(name="Kiosk", client_type="confidential", grant="device-code")
    assert start(issuer, client).status_code == 401  # its client_id alone is not enough
    wrong = requests.post(f"{issuer}/device/authorize", auth=(client.client_id, "x" * 40), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    ok = requests.post(f"{issuer}/device/authorize", auth=(client.client_id, secret), timeout=10)
    assert ok.status_code == 200, ok.text


def test_a_disabled_client_is_refused(issuer, tv):
    tv.is_active = False
    tv.save()
    response = start(issuer, tv)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_clients_create_registers_a_device_client(db, capsys):
    call_command("clients", "create", "--name", "CLI", "--type", "public", "--grant", "device-code", "--json")
    from provider.oidc.models import Client

    client = Client.objects.get(name="CLI")
    assert client.authorization_grant_type == GRANT
    assert not client.redirect_uris


def test_discovery_names_the_endpoint_and_the_grant(issuer):
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert metadata["device_authorization_endpoint"] == f"{issuer}/device/authorize"
    assert GRANT in metadata["grant_types_supported"]


# --- the user's page -------------------------------------------------------------------------
def csrf(browser):
    page = browser.get("/device")
    return {"csrfmiddlewaretoken": forms(page.text)[0]["fields"]["csrfmiddlewaretoken"]}


@pytest.fixture
def frozen_rate_window(monkeypatch):
    """The limits count in fixed windows of wall-clock time: one must not end mid-test."""
    monkeypatch.setattr("provider.ratelimit.clock", lambda: 1_800_000_000.0)


def test_wrong_codes_are_limited_per_address_and_session(issuer, tv, user, settings, frozen_rate_window):
    settings.SIGNET_RATELIMIT_DEVICE_CODE = "3/m"
    body = started(issuer, tv)
    browser, page = signed_in_at_device_page(issuer, "/device")
    # A right code is not a guess: looking it up again and again counts nothing.
    for _ in range(4):
        assert 'id="deviceDecision"' in browser.submit(page, {"user_code": body["user_code"]}).text
    for _ in range(3):
        wrong = browser.submit(page, {"user_code": "BBBB-BBBB"})
        assert wrong.status_code == 400 and "That code is unknown or has expired" in wrong.text
    limited = browser.submit(page, {"user_code": body["user_code"]})
    assert limited.status_code == 429
    assert "Too many wrong codes" in limited.text
    assert 'id="deviceDecision"' not in limited.text
    # Approving through the limit does nothing either.
    refused = browser.submit(page, {"user_code": body["user_code"], "answer": "approve"})
    assert refused.status_code == 429
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.PENDING
    # Another session from the same address: the address's count holds it too.
    _other, other_page = signed_in_at_device_page(issuer, "/device")
    assert _other.submit(other_page, {"user_code": body["user_code"]}).status_code == 429


def test_the_session_is_counted_apart_from_the_address(
    issuer, tv, user, settings, monkeypatch, frozen_rate_window
):
    settings.SIGNET_RATELIMIT_DEVICE_CODE = "2/m"
    body = started(issuer, tv)
    addresses = iter(f"192.0.2.{n}" for n in range(1, 100))
    monkeypatch.setattr("provider.oidc.device_views.context.limit_key", lambda request: next(addresses))
    browser, page = signed_in_at_device_page(issuer, "/device")
    for _ in range(2):
        assert browser.submit(page, {"user_code": "BBBB-BBBB"}).status_code == 400
    # A new address each request, the same session: still limited.
    assert browser.submit(page, {"user_code": body["user_code"]}).status_code == 429


def test_signed_out_users_are_sent_to_sign_in_with_their_code_kept(issuer, tv):
    browser = Browser(issuer)
    response = browser.http.get(f"{issuer}/device?user_code=BCDF-GHJK", allow_redirects=False, timeout=10)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/?next=")
    assert quote("/device?user_code=BCDF-GHJK", safe="/") in response.headers["Location"]


def test_a_client_that_requires_mfa_sends_a_password_only_session_to_set_up_a_second_step(issuer, tv, user):
    tv.require_mfa = True
    tv.save()
    body = started(issuer, tv)
    browser, page = signed_in_at_device_page(issuer, "/device")
    response = browser.http.post(
        f"{issuer}/device",
        data={**forms(page.text)[0]["fields"], "user_code": body["user_code"], "answer": "approve"},
        headers={"Referer": f"{issuer}/device"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/accounts/login/setup/?next=")
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.PENDING


def test_the_device_page_needs_a_csrf_token(issuer, tv, user):
    body = started(issuer, tv)
    browser, _page = signed_in_at_device_page(issuer, "/device")
    response = browser.http.post(
        f"{issuer}/device", data={"user_code": body["user_code"], "answer": "approve"}, timeout=10
    )
    assert response.status_code == 403
    assert DeviceAuthorization.objects.get().status == DeviceAuthorization.PENDING


# --- housekeeping ----------------------------------------------------------------------------
def test_purge_deletes_expired_device_requests(issuer, tv):
    from provider.oidc.housekeeping import tokens_purge

    started(issuer, tv)
    started(issuer, tv)
    DeviceAuthorization.objects.filter(pk=DeviceAuthorization.objects.first().pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert tokens_purge()["device_authorizations"] == 1
    assert DeviceAuthorization.objects.count() == 1


# --- hostile bytes ---------------------------------------------------------------------------
HOSTILE_BODIES = [
    (b"application/x-www-form-urlencoded", b"client_id=%zz"),
    (b"application/x-www-form-urlencoded", b"client_id=%ff%fe"),
    (b"application/x-www-form-urlencoded", b"client%00id=tv"),
    (b"application/x-www-form-urlencoded", b"client_id=%00"),
    (b"application/x-www-form-urlencoded", b"client_id=a&client_id=b"),
    (b"application/x-www-form-urlencoded", b"scope=%C0%AF"),
    (b"application/json", b'{"client_id": "tv"}'),
    (b"multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n\xff--"),
    (b"multipart/form-data", b"garbage"),
    (b"application/x-www-form-urlencoded", b"\xff\xfe\x00"),
]


@pytest.mark.parametrize(("content_type", "body"), HOSTILE_BODIES)
def test_hostile_bytes_get_json_errors(issuer, tv, content_type, body):
    response = raw_http.send(
        issuer, "POST", b"/device/authorize", headers=[("Content-Type", content_type)], body=body
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["error"] in {"invalid_request", "invalid_client"}


@pytest.mark.parametrize(
    "header", [b"Basic %%%", b"Basic " + b"\xff" * 8, b"Basic dHY6\x00", b"Bearer x", b"Basic"]
)
def test_hostile_authorization_headers_get_json_errors(issuer, tv, header):
    response = raw_http.send(
        issuer,
        "POST",
        b"/device/authorize",
        headers=[("Content-Type", b"application/x-www-form-urlencoded"), ("Authorization", header)],
        body=b"client_id=" + tv.client_id.encode(),
    )
    assert response.status_code in (400, 401), (response.status_code, response.text[:300])
    assert response.json()["error"] in {"invalid_request", "invalid_client"}


def test_hostile_query_and_methods(issuer, tv):
    response = raw_http.send(issuer, "POST", b"/device/authorize?%zz=\xff", body=b"")
    assert response.status_code == 400 and response.json()["error"] == "invalid_request"
    assert raw_http.send(issuer, "GET", b"/device/authorize").status_code == 405
    page = raw_http.send(issuer, "GET", b"/device?user_code=%ff%zz\x00")
    assert page.status_code in (302, 400), page.status_code


# --- metrics ---------------------------------------------------------------------------------
def test_polling_answers_and_device_tokens_are_counted(issuer, tv, user, clock, settings):
    from tests.provider.test_metrics import TOKEN, scrape

    settings.SIGNET_METRICS = True
    settings.SIGNET_METRICS_TOKEN = TOKEN
    body = started(issuer, tv)
    before = scrape(issuer)
    poll(issuer, tv, body["device_code"])
    poll(issuer, tv, body["device_code"])  # the clock stands still: sooner than the interval
    device.device_authorization_decide(row=DeviceAuthorization.objects.get(), user=user, approve=True)
    assert poll(issuer, tv, body["device_code"]).status_code == 200
    after = scrape(issuer)

    def moved(name, **labels):
        return after.value(name, **labels) - before.value(name, **labels)

    errors = "signet_oauth_errors_total"
    assert moved(errors, endpoint="oauth2_provider:token", error="authorization_pending") == 1
    assert moved(errors, endpoint="oauth2_provider:token", error="slow_down") == 1
    assert moved("signet_tokens_issued_total", grant_type=GRANT, client_id=tv.client_id) == 1


def test_a_password_only_user_sets_up_a_second_step_then_approves_at_acr_2(issuer, tv, user, monkeypatch):
    from tests.accounts.mfa import (
        code_at,
        continue_link,
        pin_clock,
        recovery_codes_of,
        secret_of,
        submit_form,
    )

    tv.require_mfa = True
    tv.save()
    pin_clock(monkeypatch)
    body = started(issuer, tv)
    browser, page = signed_in_at_device_page(issuer, body["verification_uri_complete"])
    setup = browser.submit(page)  # Continue: the client's policy asks for a second step first
    assert 'id="totp-enrol-form"' in setup.text, setup.text[:2000]
    done = submit_form(browser, setup, "totp-enrol-form", {"code": code_at(secret_of(setup))})
    recovery_codes_of(done)
    back = browser.get(continue_link(done))
    assert f'value="{body["user_code"]}"' in back.text  # back on /device with the code kept
    answer(browser, back, "approve")
    tokens = poll(issuer, tv, body["device_code"]).json()
    id_token = decode(issuer, tokens["id_token"], audience=tv.client_id)
    assert id_token["acr"] == "2"
    assert {"pwd", "otp", "mfa"} <= set(id_token["amr"])


@pytest.mark.parametrize(
    "user_code",
    [b"%ff%fe%fd%fc%fb%fa%f9%f8", b"BCDF%00GHJK", b"%zz", b"%C0%AF" * 4, b"B" * 5000, b"\xff\xfe"],
)
def test_hostile_bytes_typed_on_the_device_page_are_a_wrong_code(issuer, tv, user, user_code):
    browser, page = signed_in_at_device_page(issuer, "/device")
    token = forms(page.text)[0]["fields"]["csrfmiddlewaretoken"]
    cookies = "; ".join(f"{c.name}={c.value}" for c in browser.http.cookies)
    response = raw_http.send(
        issuer,
        "POST",
        b"/device",
        headers=[
            ("Content-Type", b"application/x-www-form-urlencoded"),
            ("Cookie", cookies.encode()),
            ("Referer", f"{issuer}/device".encode()),
            ("Origin", issuer.encode()),
        ],
        body=b"csrfmiddlewaretoken=" + token.encode() + b"&user_code=" + user_code,
    )
    assert response.status_code == 400, (response.status_code, response.text[:500])
    assert "That code is unknown or has expired" in response.text


# --- the approval is consent -------------------------------------------------------------------
def test_an_approved_device_is_listed_among_allowed_apps_and_revoking_it_ends_its_tokens(issuer, tv, user):
    body = started(issuer, tv, scope="openid offline_access")
    browser, page = signed_in_at_device_page(issuer, body["verification_uri_complete"])
    answer(browser, page, "approve")
    tokens = poll(issuer, tv, body["device_code"]).json()
    consents = browser.get("/accounts/consents/")
    assert "Living-room TV" in consents.text
    browser.submit(consents, {"client_id": tv.client_id})
    assert "Living-room TV" not in browser.get("/accounts/consents/").text
    refused = refresh(issuer, tv, None, tokens["refresh_token"], client_id=tv.client_id)
    assert error_of(refused) == "invalid_grant"


def test_consent_revoked_between_approval_and_poll_gives_nothing(issuer, tv, user):
    from provider.oidc.consent import consent_revoke

    body = started(issuer, tv)
    device.device_authorization_decide(row=DeviceAuthorization.objects.get(), user=user, approve=True)
    consent_revoke(user=user, client=tv)
    assert error_of(poll(issuer, tv, body["device_code"])) == "access_denied"
