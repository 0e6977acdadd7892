import io
import json

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.hashers import check_password
from django.core.management import CommandError, call_command

from keys.models import SigningKey
from provider.oidc.models import Client

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _signing_keys():
    """An empty key ring, as on a first `./dev run`: demo makes the keys (tests/conftest.py)."""


def run_demo(path):
    out = io.StringIO()
    call_command("demo", "--credentials-file", str(path), stdout=out)
    return out.getvalue()


def test_demo_creates_key_user_and_client_once_and_reuses_them(settings, tmp_path):
    settings.DEBUG = True
    path = tmp_path / "demo.json"
    first = run_demo(path)
    stored = json.loads(path.read_text())
    second = run_demo(path)
    assert first == second  # same credentials printed both times
    assert stored["client_secret"] in first and stored["password"] in first
    assert f"{settings.OIDC_ISSUER}/.well-known/openid-configuration" in first
    assert get_user_model().objects.count() == 1
    assert authenticate(username="demo@example.com", password=stored["password"]) is not None
    client = Client.objects.get()
    assert client.client_type == "confidential"
    assert check_password(stored["client_secret"], client.client_secret)
    assert SigningKey.objects.filter(state="active").count() == 1
    assert SigningKey.objects.filter(state="next").count() == 1
    # The sample RP hears back-channel logout, and its tokens always name the sign-in (sid).
    assert client.backchannel_logout_uri == "http://127.0.0.1:8001/rp/backchannel-logout"
    assert client.backchannel_logout_session_required is True


def test_demo_refuses_without_debug(settings, tmp_path):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        run_demo(tmp_path / "demo.json")
    assert not Client.objects.exists()


def test_demo_follows_the_sample_api_to_another_address(settings, tmp_path):
    """SAMPLE_API_BIND moved between two runs: the client's sign-in URIs and audience move with it."""
    settings.DEBUG = True
    path = tmp_path / "demo.json"
    call_command(
        "demo", "--credentials-file", str(path), "--sample-api", "http://127.0.0.1:8001", stdout=io.StringIO()
    )
    secret = json.loads(path.read_text())["client_secret"]
    out = io.StringIO()
    call_command(
        "demo", "--credentials-file", str(path), "--sample-api", "http://127.0.0.1:9001/", stdout=out
    )
    client = Client.objects.get()
    assert client.redirect_uri_allowed("http://127.0.0.1:9001/rp/callback/")
    assert not client.redirect_uri_allowed("http://127.0.0.1:8001/rp/callback/")
    assert client.post_logout_redirect_uri_allowed("http://127.0.0.1:9001/rp/")
    assert client.audience_list == ["http://127.0.0.1:9001"]
    assert client.backchannel_logout_uri == "http://127.0.0.1:9001/rp/backchannel-logout"
    assert "redirect_uri http://127.0.0.1:9001/rp/callback/" in out.getvalue()
    # The same client and secret: the sample API's configuration stays valid.
    stored = json.loads(path.read_text())
    assert stored["client_secret"] == secret and check_password(secret, client.client_secret)
    # ./dev run gives the sample API exactly the issuer the provider signs with.
    assert stored["issuer"] == settings.OIDC_ISSUER
