"""keys/views.py: the JWKS document, its cache lifetime and conditional requests."""

import pytest

from keys import selectors, services
from tests.keys.conftest import SHORT_SCHEDULE

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ring")]


def test_jwks_lists_every_published_key_with_public_members_only(client):
    rotation = services.key_rotate()
    selectors.invalidate()
    response = client.get("/jwks")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/jwk-set+json"
    assert response["Access-Control-Allow-Origin"] == "*"
    keys = response.json()["keys"]
    assert {k["kid"] for k in keys} == {k.kid for k in selectors.published_keys()}
    assert rotation.retired.kid in {k["kid"] for k in keys}
    for jwk in keys:
        assert set(jwk) == {"kty", "kid", "use", "alg", "n", "e"}
        assert jwk["use"] == "sig" and jwk["alg"] == "RS256"


def test_cache_control_never_exceeds_the_prepublication_window(client, settings, preset):
    preset(SHORT_SCHEDULE)
    assert "max-age=600" in client.get("/jwks")["Cache-Control"]
    assert "public" in client.get("/jwks")["Cache-Control"]
    settings.SIGNET_KEY_PREPUBLISH_SECONDS = 300  # misconfigured (a check flags it): still capped
    assert "max-age=300" in client.get("/jwks")["Cache-Control"]


def test_etag_and_not_modified(client):
    first = client.get("/jwks")
    etag = first["ETag"]
    assert etag.startswith('"') and etag.endswith('"')
    again = client.get("/jwks", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag and "max-age" in again["Cache-Control"]
    assert client.get("/jwks", HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert client.get("/jwks", HTTP_IF_NONE_MATCH="*").status_code == 304
    assert client.get("/jwks", HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_etag_changes_when_the_key_set_changes(client):
    etag = client.get("/jwks")["ETag"]
    services.key_rotate()
    selectors.invalidate()
    response = client.get("/jwks", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200 and response["ETag"] != etag


def test_head_works_and_other_methods_do_not(client):
    assert client.head("/jwks").status_code == 200
    assert client.post("/jwks").status_code == 405


def test_discovery_advertises_this_jwks(client, settings):
    metadata = client.get("/.well-known/openid-configuration").json()
    assert metadata["jwks_uri"] == settings.OIDC_ISSUER + "/jwks"
