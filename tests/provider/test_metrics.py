"""/metrics over real HTTP: each counter and gauge moves with the event it counts, and only the
scraper settings allow reads it (provider/metrics/).

The live server runs in this process, so the counters are this process's (prometheus_client's
single-process mode); tests/provider/test_metrics_gunicorn.py covers gunicorn's workers summed.
Counters only grow over a test session: every assertion compares a scrape before with one after.
"""

from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from keys import services as key_services
from provider import metrics
from tests.oidc.flows import PASSWORD, Flow, is_login_page
from tests.support.browser import Browser, forms

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "metrics-scraper-secret-0123456789abcdef"
TOKEN_ENDPOINT = "oauth2_provider:token"


@pytest.fixture
def metrics_on(settings):
    settings.SIGNET_METRICS = True
    settings.SIGNET_METRICS_TOKEN = TOKEN


@pytest.fixture
def flow(issuer, browser, rp_client):
    client, secret = rp_client
    return Flow(issuer=issuer, browser=browser, client=client, secret=secret)


class Scrape:
    """One /metrics answer, parsed: value(name, **labels) is 0 for a series not there yet."""

    def __init__(self, text):
        self.families = {}
        self.values = {}
        for family in text_string_to_metric_families(text):
            self.families[family.name] = family
            for sample in family.samples:
                self.values[(sample.name, frozenset(sample.labels.items()))] = sample.value

    def value(self, name, **labels):
        return self.values.get((name, frozenset(labels.items())), 0.0)

    def has(self, name):
        return any(key[0] == name for key in self.values)


def scrape(issuer, token=TOKEN):
    response = requests.get(f"{issuer}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text[:500]
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return Scrape(response.text)


def moved(before, after, name, **labels):
    return after.value(name, **labels) - before.value(name, **labels)


# --- every counter, over one relying party's day -----------------------------------------------


def test_each_protocol_counter_moves_with_its_event(issuer, metrics_on, flow, user):
    client_id = flow.client.client_id
    before = scrape(issuer)

    # A failed sign-in, then a full one: login form, consent, code exchange.
    page = flow.browser.get("/accounts/login/")
    assert is_login_page(flow.browser.login(page, user.email, "not the password"))
    tokens = flow.tokens(scope="openid offline_access")
    # A refresh, then the old refresh token again: reuse, answered invalid_grant.
    refreshed = flow.refresh(tokens["refresh_token"])
    assert refreshed.status_code == 200, refreshed.text
    reused = flow.refresh(tokens["refresh_token"])
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"
    # A token error of another kind.
    bogus = flow.token_request({"grant_type": "urn:example:nothing"})
    assert bogus.json()["error"] == "unsupported_grant_type"
    # The consent revoked from the account page.
    consents = flow.browser.get("/accounts/consents/")
    form = next(f for f in forms(consents.text) if f["fields"].get("client_id") == client_id)
    assert flow.browser.submit(consents, form_index=forms(consents.text).index(form)).status_code == 200

    after = scrape(issuer)
    assert moved(before, after, "signet_sign_ins_total", method="pwd", outcome="failure") == 1
    assert moved(before, after, "signet_sign_ins_total", method="pwd", outcome="success") == 1
    issued = "signet_tokens_issued_total"
    assert moved(before, after, issued, grant_type="authorization_code", client_id=client_id) == 1
    assert moved(before, after, issued, grant_type="refresh_token", client_id=client_id) == 1
    assert moved(before, after, "signet_refresh_token_reuse_total", client_id=client_id) == 1
    errors = "signet_oauth_errors_total"
    assert moved(before, after, errors, endpoint=TOKEN_ENDPOINT, error="invalid_grant") == 1
    assert moved(before, after, errors, endpoint=TOKEN_ENDPOINT, error="unsupported_grant_type") == 1
    consent = "signet_consent_changes_total"
    assert moved(before, after, consent, change="granted", client_id=client_id) == 1
    assert moved(before, after, consent, change="revoked", client_id=client_id) == 1
    assert moved(before, after, "signet_lockouts_total", kind="pair") == 0


def test_requests_are_timed_by_route_name_on_both_lanes(issuer, metrics_on, flow, user):
    before = scrape(issuer)
    flow.tokens()  # authorize and the login page: the full chain; the token endpoint: the lean lane
    after = scrape(issuer)
    count = "signet_http_request_duration_seconds_count"
    assert moved(before, after, count, endpoint=TOKEN_ENDPOINT) == 1
    assert moved(before, after, count, endpoint="oauth2_provider:authorize") >= 1
    assert moved(before, after, count, endpoint="accounts:login") >= 1
    assert moved(before, after, "signet_http_responses_total", endpoint=TOKEN_ENDPOINT, status="200") == 1
    # A path no route matches is one bounded series, never its own path.
    assert requests.get(f"{issuer}/no/such/page-{user.pk}", timeout=10).status_code == 404
    last = scrape(issuer)
    assert moved(after, last, count, endpoint="unresolved") == 1
    assert not any(str(user.pk) in str(labels) for _, labels in last.values)


def test_lockouts_are_counted(issuer, metrics_on, user, settings):
    settings.AXES_FAILURE_LIMIT = 2
    browser = Browser(issuer)
    before = scrape(issuer)
    assert browser.login(browser.get("/accounts/login/"), user.email, "wrong").status_code == 200
    assert browser.login(browser.get("/accounts/login/"), user.email, "wrong").status_code == 429
    assert browser.login(browser.get("/accounts/login/"), user.email, PASSWORD).status_code == 429
    after = scrape(issuer)
    assert moved(before, after, "signet_lockouts_total", kind="pair") == 1
    assert moved(before, after, "signet_sign_ins_total", method="pwd", outcome="success") == 0
    assert moved(before, after, "signet_sign_ins_total", method="pwd", outcome="failure") == 3


def test_the_password_grant_counts_as_a_password_sign_in(issuer, metrics_on, user):
    from provider.oidc.services import client_create

    client, secret = client_create(name="Legacy app", client_type="confidential", grant="password")
    before = scrape(issuer)
    for password, status in (("wrong", 400), (PASSWORD, 200)):
        data = {"grant_type": "password", "username": user.email, "password": password, "scope": "openid"}
        response = requests.post(f"{issuer}/token", data=data, auth=(client.client_id, secret), timeout=10)
        assert response.status_code == status, response.text
    after = scrape(issuer)
    assert moved(before, after, "signet_sign_ins_total", method="pwd", outcome="failure") == 1
    assert moved(before, after, "signet_sign_ins_total", method="pwd", outcome="success") == 1
    issued = "signet_tokens_issued_total"
    assert moved(before, after, issued, grant_type="password", client_id=client.client_id) == 1


def test_client_authentication_failures_are_counted_without_the_presented_client_id(
    issuer, metrics_on, rp_client
):
    before = scrape(issuer)
    response = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=("made-up-client-id", "wrong"),
        timeout=10,
    )
    assert response.status_code == 401
    after = scrape(issuer)
    assert (
        moved(before, after, "signet_client_authentication_failures_total", method="client_secret_basic") == 1
    )
    assert (
        moved(before, after, "signet_oauth_errors_total", endpoint=TOKEN_ENDPOINT, error="invalid_client")
        == 1
    )
    assert not any("made-up-client-id" in str(labels) for _, labels in after.values)


def test_sign_in_is_there_for_other_methods(issuer, metrics_on):
    before = scrape(issuer)
    metrics.sign_in(method="otp", outcome=metrics.FAILURE)
    after = scrape(issuer)
    assert moved(before, after, "signet_sign_ins_total", method="otp", outcome="failure") == 1
    with pytest.raises(ValueError):
        metrics.sign_in(method="otp", outcome="maybe")


def test_nothing_is_counted_while_metrics_are_off(issuer, metrics_on, settings, flow, user):
    before = scrape(issuer)
    settings.SIGNET_METRICS = False
    flow.tokens()
    settings.SIGNET_METRICS = True
    after = scrape(issuer)
    assert (
        moved(
            before,
            after,
            "signet_tokens_issued_total",
            grant_type="authorization_code",
            client_id=flow.client.client_id,
        )
        == 0
    )
    assert moved(before, after, "signet_http_request_duration_seconds_count", endpoint=TOKEN_ENDPOINT) == 0


# --- the signing-key gauges ------------------------------------------------------------------


@pytest.mark.parametrize("next_published_days_ago", [100, 89.5, 0, None])
def test_rotation_due_at_is_the_first_moment_the_schedule_rotates(settings, next_published_days_ago):
    from types import SimpleNamespace

    from keys.services import rotation_due
    from provider.metrics.keyring import rotation_due_at

    now = timezone.now()
    active = SimpleNamespace(activated_at=now - timedelta(days=60), created_at=now - timedelta(days=61))
    nxt = (
        None
        if next_published_days_ago is None
        else SimpleNamespace(created_at=now - timedelta(days=next_published_days_ago))
    )
    due = rotation_due_at(active, nxt, now)
    if nxt is None:
        # No next key yet: one is published first and waits its pre-publication.
        assert due >= now + timedelta(seconds=settings.SIGNET_KEY_PREPUBLISH_SECONDS)
        return
    assert rotation_due(active, nxt, due)
    assert not rotation_due(active, nxt, due - timedelta(seconds=1))


def test_key_gauges_follow_the_key_ring(issuer, metrics_on, settings, monkeypatch):
    days = settings.SIGNET_KEY_ROTATION_DAYS
    first = scrape(issuer)
    assert first.value("signet_signing_key_active") == 1
    assert first.value("signet_signing_keys_retired_published") == 0
    age = first.value("signet_signing_key_age_seconds")
    assert 0 <= age < 3600
    # The fixture's next key was published with the active one, so the schedule is the active key's age.
    assert first.value("signet_signing_key_rotation_due_in_seconds") == pytest.approx(
        days * 86400 - age, abs=60
    )

    # Ten days on, the gauges have moved with the clock (the keys app's, as rotation's schedule uses).
    from keys import clock

    later = clock.now() + timedelta(days=10)
    monkeypatch.setattr(clock, "now", lambda: later)
    moved_on = scrape(issuer)
    assert moved_on.value("signet_signing_key_age_seconds") == pytest.approx(age + 10 * 86400, abs=60)
    assert moved_on.value("signet_signing_key_rotation_due_in_seconds") == pytest.approx(
        (days - 10) * 86400 - age, abs=60
    )

    key_services.key_rotate(now=later)
    rotated = scrape(issuer)
    assert rotated.value("signet_signing_keys_retired_published") == 1
    assert rotated.value("signet_signing_key_age_seconds") == pytest.approx(0, abs=60)

    # Past its retention the retired key is no longer published, though not yet purged.
    gone = later + timedelta(seconds=key_services.retention_seconds() + 1)
    monkeypatch.setattr(clock, "now", lambda: gone)
    assert scrape(issuer).value("signet_signing_keys_retired_published") == 0


def test_no_active_key_is_a_gauge_not_an_error(issuer, metrics_on):
    from keys.models import SigningKey

    SigningKey.objects.filter(state=SigningKey.State.ACTIVE).update(state=SigningKey.State.REVOKED)
    page = scrape(issuer)
    assert page.value("signet_signing_key_active") == 0
    assert not page.has("signet_signing_key_age_seconds")


# --- who may scrape --------------------------------------------------------------------------


def test_off_is_a_404_like_any_unknown_path(issuer, settings):
    settings.SIGNET_METRICS = False
    settings.SIGNET_METRICS_TOKEN = TOKEN
    answer = requests.get(f"{issuer}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    unknown = requests.get(f"{issuer}/no-such-page", timeout=10)
    assert answer.status_code == 404
    assert answer.text == unknown.text.replace("/no-such-page", "/metrics")
    assert "signet_" not in answer.text


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-secret-of-the-same-kind-0123456", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "],
    ids=["none", "wrong", "other-scheme", "longer", "empty"],
)
def test_the_token_is_required_when_set(issuer, metrics_on, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    answer = requests.get(f"{issuer}/metrics", headers=headers, timeout=10)
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert answer.content == b""


def test_the_right_token_is_answered_and_never_logged(issuer, metrics_on, caplog):
    page = scrape(issuer)
    assert page.has("signet_signing_key_active")
    assert TOKEN not in caplog.text


def test_without_a_token_only_a_direct_loopback_connection_may_scrape(issuer, settings):
    settings.SIGNET_METRICS = True
    settings.SIGNET_METRICS_TOKEN = ""
    direct = requests.get(f"{issuer}/metrics", timeout=10)
    assert direct.status_code == 200 and "signet_signing_key_active" in direct.text
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        proxied = requests.get(f"{issuer}/metrics", headers={header: "203.0.113.9"}, timeout=10)
        assert proxied.status_code == 404, header
        assert "signet_" not in proxied.text


@pytest.mark.parametrize(
    ("remote", "allowed"),
    [("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True), ("203.0.113.9", False), ("", False)],
)
def test_loopback_is_judged_by_the_connection(rf, remote, allowed):
    from provider.metrics.views import direct_from_loopback

    assert direct_from_loopback(rf.get("/metrics", REMOTE_ADDR=remote)) is allowed


def test_only_get_reads(issuer, metrics_on):
    answer = requests.post(f"{issuer}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert answer.status_code == 405


def test_key_gauges_describe_the_rs256_keys_when_other_algorithms_are_configured(
    issuer, metrics_on, settings
):
    from keys.models import SigningKey

    settings.SIGNET_SIGNING_ALGS = ("RS256", "ES256")
    key_services.key_ensure_active()  # an ES256 key, newer than the RS256 one, joins the ring
    SigningKey.objects.filter(alg="RS256", state=SigningKey.State.ACTIVE).update(
        state=SigningKey.State.REVOKED
    )
    # The ES256 key's presence does not hide that RS256, the algorithm every client can rely on, has none.
    assert scrape(issuer).value("signet_signing_key_active") == 0
