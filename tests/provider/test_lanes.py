"""The lean lane (provider/lanes.py): machine endpoints run none of the browser pages' middleware,
and keep what a JSON API needs (request id and log line, security headers, the Host check, the rate
limit and the lockout answer). Browser pages keep every middleware."""

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils.module_loading import import_string

from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

LEAN = [
    ("post", "/token"),
    ("post", "/introspect"),
    ("post", "/revoke"),
    ("get", "/userinfo"),
    ("get", "/jwks"),
    ("get", "/.well-known/openid-configuration"),
    ("get", "/.well-known/oauth-authorization-server"),
]
# Middleware the machine endpoints must not run.
SKIPPED = {
    "WhiteNoiseMiddleware",
    "CSPMiddleware",
    "SessionMiddleware",
    "CommonMiddleware",
    "CsrfViewMiddleware",
    "AuthenticationMiddleware",
    "MessageMiddleware",
    "XFrameOptionsMiddleware",
    "AxesMiddleware",
}
FULL_PAGES = ["/authorize", "/accounts/login/", "/admin/"]


@pytest.fixture
def ran(monkeypatch):
    """The names of the MIDDLEWARE classes that ran (their __call__ or process_view) since reset."""
    seen = set()

    def recording(original, name):
        def recorded(self, *args, **kwargs):
            seen.add(name)
            return original(self, *args, **kwargs)

        return recorded

    for path in django_settings.MIDDLEWARE:
        cls = import_string(path)
        name = cls.__name__
        monkeypatch.setattr(cls, "__call__", recording(cls.__call__, name))
        if hasattr(cls, "process_view"):
            monkeypatch.setattr(cls, "process_view", recording(cls.process_view, name))
    return seen


def call(client, method, path, **extra):
    data = {"grant_type": "client_credentials", "token": "x"} if method == "post" else None
    return getattr(client, method)(path, data, **extra)


def test_the_skipped_middleware_lists_real_middleware():
    names = {path.rsplit(".", 1)[1] for path in django_settings.MIDDLEWARE}
    assert names >= SKIPPED


@pytest.mark.parametrize(("method", "path"), LEAN)
def test_machine_endpoints_run_none_of_the_pages_middleware(ran, method, path):
    response = call(Client(), method, path)
    assert response.status_code in (200, 400, 401)
    assert ran & SKIPPED == set()
    assert "RequestLogMiddleware" in ran and "LeanLaneMiddleware" in ran


@pytest.mark.parametrize(("method", "path"), LEAN)
def test_machine_endpoints_answer_with_the_json_api_headers_only(method, path):
    client = Client()
    client.cookies["sessionid"] = "from-a-browser"  # a browser's cookie is neither read nor renewed
    response = call(client, method, path)
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")
    assert "Content-Security-Policy" not in response and "X-Frame-Options" not in response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert len(response["X-Request-ID"]) >= 8
    assert response["Content-Length"] == str(len(response.content))


@pytest.mark.parametrize(("method", "path"), LEAN)
def test_hsts_on_the_lane_over_https(settings, method, path):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = call(Client(), method, path, secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.parametrize(("method", "path"), LEAN)
def test_a_foreign_host_is_refused_on_the_lane(method, path):
    response = call(Client(), method, path, HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert b"evil.example" not in response.content


@pytest.mark.parametrize("path", FULL_PAGES)
def test_browser_pages_run_every_middleware(ran, path):
    Client().get(path)
    assert ran == {path.rsplit(".", 1)[1] for path in django_settings.MIDDLEWARE}


def test_the_login_page_keeps_its_csrf_cookie_and_policy():
    response = Client().get("/accounts/login/")
    assert "csrftoken" in response.cookies
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_the_rate_limit_answers_on_the_lane(ran, settings, monkeypatch):
    settings.SIGNET_RATELIMIT_TOKEN = "2/h"
    monkeypatch.setattr("provider.ratelimit.clock", lambda: 1_800_000_000.0)
    client = Client()
    assert all(call(client, "post", "/token").status_code == 400 for _ in range(2))
    limited = call(client, "post", "/token")
    assert limited.status_code == 429 and limited.json()["error"] == "temporarily_unavailable"
    assert 1 <= int(limited["Retry-After"]) <= 3600
    assert limited["X-Content-Type-Options"] == "nosniff"
    assert ran & SKIPPED == set()


# --- any view answering a machine endpoint's name takes the lane ------------------------------------


@pytest.fixture
def stand_ins(settings):
    settings.ROOT_URLCONF = "tests.provider.lane_urls"


def test_a_lockout_met_by_the_views_own_request_is_answered(stand_ins, user, settings, ran):
    """A view that authenticates the Django request gets django-axes' flag on it, not the lock list
    LockoutMiddleware reads; the lane still answers with the lock (AxesMiddleware is not on it)."""
    settings.AXES_FAILURE_LIMIT = 2
    client = Client(REMOTE_ADDR="203.0.113.40")
    form = {"username": user.email, "password": "wrong"}
    assert client.post("/token", form).status_code == 400
    client.post("/token", form)
    locked = client.post("/token", {**form, "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["error"] == "invalid_grant"
    assert "Too many failed sign-in attempts" in locked.json()["error_description"]
    assert int(locked["Retry-After"]) > 0
    assert ran & SKIPPED == set()


def test_an_exception_in_a_lane_view_gets_djangos_answer_and_the_lean_headers(stand_ins):
    response = Client().post("/introspect")
    assert response.status_code == 403
    assert response["X-Content-Type-Options"] == "nosniff" and len(response["X-Request-ID"]) >= 8


def test_a_template_response_is_rendered_on_the_lane(stand_ins, ran):
    response = Client().get("/userinfo")
    assert response.status_code == 200 and response.content == b"rendered late"
    assert ran & SKIPPED == set()
