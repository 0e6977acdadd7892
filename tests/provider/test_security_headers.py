"""Security headers on the pages and endpoints, over real HTTP."""

import pytest
import requests
from django.test import Client as DjangoClient

from tests.oidc.flows import Flow

pytestmark = pytest.mark.django_db(transaction=True)


def csp(response):
    return {
        d.strip().split()[0]: d.strip().split()[1:]
        for d in response.headers["Content-Security-Policy"].split(";")
        if d.strip()
    }


def test_login_page_headers(issuer):
    response = requests.get(f"{issuer}/accounts/login/", timeout=10)
    assert response.status_code == 200
    policy = csp(response)
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert len(response.headers["X-Request-ID"]) >= 8
    assert "Strict-Transport-Security" not in response.headers  # plain-http issuer
    cookie = response.headers["Set-Cookie"]
    assert "csrftoken=" in cookie and "SameSite=Lax" in cookie


def test_consent_page_cannot_be_framed_or_cached(issuer, browser, user, rp_client):
    client, _ = rp_client
    flow = Flow(issuer=issuer, browser=browser, client=client)
    page = flow.log_in(flow.authorize(), user.email)
    assert 'id="authorizationForm"' in page.text
    assert page.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "no-store" in page.headers["Cache-Control"]


def test_token_responses_are_not_stored(issuer, rp_client):
    client, secret = rp_client
    client.authorization_grant_type = client.GRANT_CLIENT_CREDENTIALS
    client.save()
    ok = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, secret),
        timeout=10,
    )
    assert ok.status_code == 200 and "access_token" in ok.json()
    assert ok.headers["Cache-Control"] == "no-store"
    assert ok.headers["Pragma"] == "no-cache"
    refused = requests.post(
        f"{issuer}/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, "wrong"),
        timeout=10,
    )
    assert refused.status_code == 401
    assert refused.headers["Cache-Control"] == "no-store"


def test_hsts_on_https_requests_when_configured(settings):
    settings.SECURE_HSTS_SECONDS = 31536000
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    response = DjangoClient().get("/healthz", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


def test_plain_http_is_redirected_but_probes_are_exempt(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = DjangoClient()
    redirect = client.get("/accounts/login/")
    assert redirect.status_code == 301 and redirect["Location"].startswith("https://")
    assert client.get("/healthz").status_code == 200
