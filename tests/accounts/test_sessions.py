"""Sign-in session records and the account's Sessions page, over HTTP; the pure rules directly.

Back-channel delivery is tests/oidc/test_backchannel_logout.py and test_backchannel_worker.py.
"""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from tests.accounts.mfa import code_at, enrol_totp, is_verify_page, log_in, pin_clock
from tests.oidc.flows import Flow, is_consent_page
from tests.support import raw_http
from tests.support.browser import Browser

pytestmark = pytest.mark.django_db(transaction=True)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)


def browser_as(issuer, user_agent):
    browser = Browser(issuer)
    browser.http.headers["User-Agent"] = user_agent
    return browser


def records(user):
    from accounts.models import SignInSession

    return list(SignInSession.objects.filter(user=user).order_by("started_at"))


def test_each_sign_in_is_recorded_with_its_browser_address_and_methods(issuer, user):
    log_in(browser_as(issuer, FIREFOX))
    [record] = records(user)
    assert record.user_agent == FIREFOX
    assert record.ip_address == "127.0.0.1"
    assert record.methods == ["pwd"]
    assert record.clients == [] and record.ended_at is None
    assert record.session_key  # the browser's Django session, to end it from elsewhere


def test_the_user_agent_is_trimmed(issuer, user):
    log_in(browser_as(issuer, "A" * 5000))
    assert records(user)[0].user_agent == "A" * 200


def test_the_page_lists_every_sign_in_with_its_methods_and_apps_and_marks_this_one(
    issuer, user, rp_client, monkeypatch
):
    client, secret = rp_client
    pin_clock(monkeypatch)
    first = browser_as(issuer, FIREFOX)
    log_in(first)
    totp_secret, _codes = enrol_totp(first)
    # A second browser signs in at the relying party, with password and code.
    flow = Flow(issuer=issuer, browser=browser_as(issuer, CHROME_MAC), client=client, secret=secret)
    verify = flow.log_in(flow.authorize())
    assert is_verify_page(verify)
    done = flow.browser.submit(verify, {"code": code_at(totp_secret, steps=1)})
    if is_consent_page(done):
        done = flow.allow(done)
    assert "code" in flow.at_relying_party(done)

    first_record, second_record = records(user)
    assert second_record.methods == ["pwd", "otp", "mfa"]
    assert second_record.clients == [client.client_id]
    listing = first.get("/accounts/sessions/")
    assert listing.status_code == 200
    assert listing.headers["Cache-Control"].startswith("max-age=0")
    assert listing.text.count('<li class="session') == 2
    this = listing.text[listing.text.index(f'id="session-{first_record.pk}"') :]
    other = listing.text[listing.text.index(f'id="session-{second_record.pk}"') :]
    assert "this browser" in this.split("</li>")[0] and "Firefox on Linux" in this.split("</li>")[0]
    other = other.split("</li>")[0]
    assert "this browser" not in other and "Chrome on macOS" in other
    assert "password, one-time code" in other and "Example RP" in other
    assert "End this sign-in" in other


def test_ending_every_other_sign_in_signs_those_browsers_out_and_keeps_this_one(issuer, user):
    here, elsewhere, third = (Browser(issuer) for _ in range(3))
    for browser in (here, elsewhere, third):
        log_in(browser)
    page = here.get("/accounts/sessions/")
    at = page.text.index('id="end-others"')
    done = here.submit(page, form_index=page.text.count("<form", 0, at) - 1)
    assert done.status_code == 200 and "Your other sign-ins were ended." in done.text
    assert [r.end_reason for r in records(user)] == ["", "user", "user"]
    for browser in (elsewhere, third):
        assert browser.get("/accounts/sessions/").url.split("?")[0].endswith("/accounts/login/")
    assert here.get("/accounts/sessions/").url.endswith("/accounts/sessions/")


def test_another_users_sign_in_cannot_be_ended(issuer, user, django_user_model):
    from tests.conftest import PASSWORD

    django_user_model.objects.create_user("bob@example.com", PASSWORD)
    alice, bob = Browser(issuer), Browser(issuer)
    log_in(alice)
    log_in(bob, email="bob@example.com")
    bobs = next(r for r in records(django_user_model.objects.get(email="bob@example.com")))
    page = alice.get("/accounts/sessions/")
    response = alice.http.post(
        f"{issuer}/accounts/sessions/{bobs.pk}/end/",
        data={"csrfmiddlewaretoken": alice.http.cookies["csrftoken"]},
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 404
    bobs.refresh_from_db()
    assert bobs.ended_at is None


def test_ending_needs_a_post_with_csrf(issuer, user):
    other = Browser(issuer)
    log_in(other)
    here = Browser(issuer)
    log_in(here)
    target = records(user)[0]
    assert here.http.get(f"{issuer}/accounts/sessions/{target.pk}/end/", timeout=10).status_code == 405
    refused = here.http.post(
        f"{issuer}/accounts/sessions/{target.pk}/end/", timeout=10, allow_redirects=False
    )
    assert refused.status_code == 403
    target.refresh_from_db()
    assert target.ended_at is None


def test_hostile_bytes_at_the_sessions_urls_are_not_a_500(issuer, user):
    for path in (b"/accounts/sessions/%ff%00/end/", b"/accounts/sessions/99999999999999999999999/end/"):
        assert raw_http.send(issuer, "POST", path, body=b"\xff\x00").status_code in (403, 404)
    assert raw_http.send(issuer, "GET", b"/accounts/sessions/?\xff=%zz").status_code == 302


def test_signing_out_ends_the_record(issuer, user):
    browser = Browser(issuer)
    page = log_in(browser)
    profile = browser.get("/accounts/profile/")
    at = profile.text.index('action="/accounts/logout/"')
    browser.submit(profile, form_index=profile.text.count("<form", 0, at) - 1)
    assert page.status_code == 200
    [record] = records(user)
    assert (record.ended_at is not None, record.end_reason) == (True, "logout")


def test_a_new_password_ends_every_other_sign_in_and_keeps_this_one(issuer, user):
    from tests.conftest import PASSWORD

    here, elsewhere = Browser(issuer), Browser(issuer)
    log_in(here)
    log_in(elsewhere)
    page = here.get("/accounts/password/change/")
    here.submit(
        page,
        {
            "old_password": PASSWORD,
            "new_password1": "a new passphrase 987 zz",
            "new_password2": "a new passphrase 987 zz",
        },
    )
    first, second = records(user)
    assert (first.ended_at, second.end_reason) == (None, "password_change")
    assert here.get("/accounts/sessions/").url.endswith("/accounts/sessions/")


# --- last seen: at most one UPDATE a minute --------------------------------------------------------
class FakeSession(dict):
    session_key = "k1"


class FakeRequest:
    def __init__(self, sid):
        from accounts.sessions import SID_KEY

        self.session = FakeSession({SID_KEY: sid})


def test_last_seen_moves_at_most_once_a_minute_and_follows_a_new_session_key(user):
    from accounts.models import SignInSession
    from accounts.session_records import sign_in_seen

    SignInSession.objects.create(sid="s1", user=user)
    request = FakeRequest("s1")
    assert sign_in_seen(request, now=1000) is True
    assert sign_in_seen(request, now=1059) is False
    assert sign_in_seen(request, now=1060) is True
    request.session.session_key = "k2"  # a password change cycles the key: noted at once
    assert sign_in_seen(request, now=1061) is True
    assert SignInSession.objects.get(sid="s1").session_key == "k2"


def test_browser_labels():
    from accounts.session_views import browser_label

    assert browser_label(FIREFOX) == "Firefox on Linux"
    assert browser_label(CHROME_MAC) == "Chrome on macOS"
    assert browser_label("curl/8.5.0") == "curl/8.5.0"
    assert browser_label("") == "unknown browser"


# --- registering a back-channel logout URI ------------------------------------------------------------
def clients(*args):
    out = io.StringIO()
    call_command("clients", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_cli_registers_changes_and_removes_a_backchannel_logout_uri(db):
    created = clients(
        "create",
        "--name",
        "App",
        "--type",
        "confidential",
        "--grant",
        "authorization-code",
        "--redirect-uri",
        "https://app.example.com/cb",
        "--backchannel-logout-uri",
        "https://app.example.com/bc",
        "--backchannel-logout-session-required",
    )
    assert created["backchannel_logout_uri"] == "https://app.example.com/bc"
    assert created["backchannel_logout_session_required"] is True
    cid = created["client_id"]
    updated = clients(
        "update", cid, "--backchannel-logout-uri", "", "--no-backchannel-logout-session-required"
    )
    assert (updated["backchannel_logout_uri"], updated["backchannel_logout_session_required"]) == ("", False)
    assert set(updated["changed"]) == {"backchannel_logout_uri", "backchannel_logout_session_required"}


@pytest.mark.parametrize(
    "uri",
    [
        "http://app.example.com/bc",
        "https://app.example.com/bc#frag",
        "app.example.com/bc",
        "https://",
        "https://[::1",
    ],
)
def test_only_absolute_https_uris_without_fragment_are_accepted(db, settings, uri):
    settings.SIGNET_HTTP_REDIRECT_URIS = False
    with pytest.raises(CommandError, match="backchannel_logout_uri"):
        clients(
            "create",
            "--name",
            "App",
            "--type",
            "public",
            "--grant",
            "authorization-code",
            "--redirect-uri",
            "https://app.example.com/cb",
            "--backchannel-logout-uri",
            uri,
        )


def test_http_is_accepted_where_http_redirect_uris_are(settings):
    from provider.oidc.models import backchannel_logout_uri_problem

    settings.SIGNET_HTTP_REDIRECT_URIS = True
    assert backchannel_logout_uri_problem("http://127.0.0.1:9000/bc") is None
    settings.SIGNET_HTTP_REDIRECT_URIS = False
    assert backchannel_logout_uri_problem("http://127.0.0.1:9000/bc") is not None


def test_another_user_signing_in_in_the_same_browser_ends_the_first_ones_sign_in(
    issuer, user, django_user_model
):
    from tests.conftest import PASSWORD

    bob = django_user_model.objects.create_user("bob@example.com", PASSWORD)
    browser = Browser(issuer)
    log_in(browser)
    log_in(browser, email="bob@example.com")
    [alices] = records(user)
    assert (alices.ended_at is not None, alices.end_reason) == (True, "logout")
    [bobs] = records(bob)
    assert bobs.ended_at is None


# --- expiry and purge ------------------------------------------------------------------------------
def make_record(user, sid, *, seen_ago, ended_ago=None):
    from datetime import timedelta

    from django.utils import timezone

    from accounts.models import SignInSession

    now = timezone.now()
    return SignInSession.objects.create(
        sid=sid,
        user=user,
        last_seen_at=now - timedelta(seconds=seen_ago),
        ended_at=None if ended_ago is None else now - timedelta(seconds=ended_ago),
    )


def test_a_sign_in_whose_browser_session_expired_is_no_longer_listed(user, settings):
    from accounts.session_records import live_sign_ins

    settings.SESSION_COOKIE_AGE = 3600
    make_record(user, "fresh", seen_ago=3600)  # its session may have changed up to a minute later
    make_record(user, "expired", seen_ago=3600 + 61)
    assert [r.sid for r in live_sign_ins(user=user)] == ["fresh"]
    assert {r.sid for r in live_sign_ins(user=user, include_expired=True)} == {"fresh", "expired"}


def test_purge_sign_ins_deletes_what_ended_or_expired_long_enough_ago(user, settings):
    from accounts.models import SignInSession

    settings.SESSION_COOKIE_AGE = 3600
    day = 86400
    make_record(user, "live", seen_ago=10)
    make_record(user, "ended-recently", seen_ago=day, ended_ago=29 * day)
    make_record(user, "ended-long-ago", seen_ago=40 * day, ended_ago=31 * day)
    make_record(user, "expired-long-ago", seen_ago=31 * day + 3600 + 61)
    make_record(user, "expired-recently", seen_ago=30 * day)
    out = io.StringIO()
    call_command("purge_sign_ins", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"sign_in_sessions": 2}
    assert set(SignInSession.objects.values_list("sid", flat=True)) == {
        "live",
        "ended-recently",
        "expired-recently",
    }
    with pytest.raises(CommandError):
        call_command("purge_sign_ins", "--days", "-1")
