"""Discovery is built once per process and revalidates like the JWKS (ETag, 304)."""

import pytest
import requests

pytestmark = pytest.mark.django_db(transaction=True)


def test_discovery_answers_304_to_its_etag(issuer):
    url = f"{issuer}/.well-known/openid-configuration"
    first = requests.get(url, timeout=10)
    etag = first.headers["ETag"]
    assert first.status_code == 200 and first.json()["issuer"] == issuer
    again = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == etag
    other = requests.get(url, headers={"If-None-Match": '"something-else"'}, timeout=10)
    assert other.status_code == 200


def test_a_settings_change_rebuilds_the_document(issuer, settings):
    url = f"{issuer}/.well-known/openid-configuration"
    before = requests.get(url, timeout=10)
    settings.SIGNET_SCOPES = {**settings.SIGNET_SCOPES, "notes:write": "Write your notes"}
    after = requests.get(url, timeout=10)
    assert "notes:write" not in before.json()["scopes_supported"]
    assert "notes:write" in after.json()["scopes_supported"]
    assert after.headers["ETag"] != before.headers["ETag"]
