"""Discovery is served from bytes prepared once per process and settings (provider/oidc/discovery.py)."""

import hashlib

import pytest

pytestmark = pytest.mark.django_db

OPENID = "/.well-known/openid-configuration"
RFC8414 = "/.well-known/oauth-authorization-server"


@pytest.fixture
def serializations(monkeypatch):
    """The documents serialized into bytes, in order."""
    from provider import prepared

    made = []
    real = prepared.prepare

    def counted(source):
        made.append(source)
        return real(source)

    monkeypatch.setattr(prepared, "prepare", counted)
    return made


def test_prepared_once_for_both_addresses(client, serializations):
    first = client.get(OPENID)
    prepared = len(serializations)  # 0 when an earlier test served the same settings
    assert first["ETag"] == '"' + hashlib.sha256(first.content).hexdigest()[:32] + '"'
    assert first["Cache-Control"] == "public, max-age=300" and first["Access-Control-Allow-Origin"] == "*"
    other = client.get(RFC8414)
    assert other.content == first.content and other["ETag"] == first["ETag"]
    assert len(serializations) == prepared <= 1


def test_conditional_requests(client):
    etag = client.get(OPENID)["ETag"]
    not_modified = client.get(OPENID, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag and not_modified["Cache-Control"] == "public, max-age=300"
    assert client.get(OPENID, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert client.get(OPENID, HTTP_IF_NONE_MATCH="*").status_code == 304
    assert client.get(OPENID, HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_head_and_other_methods(client):
    etag = client.get(OPENID)["ETag"]
    head = client.head(OPENID)
    assert head.status_code == 200 and head["ETag"] == etag
    assert client.head(OPENID, HTTP_IF_NONE_MATCH=etag).status_code == 304
    assert client.post(OPENID).status_code == 405


def test_a_new_issuer_prepares_new_bytes(client, settings, serializations):
    before = client.get(OPENID)
    prepared = len(serializations)
    settings.OIDC_ISSUER = "https://id.example.org"
    after = client.get(OPENID, HTTP_IF_NONE_MATCH=before["ETag"])
    assert after.status_code == 200 and after.json()["issuer"] == "https://id.example.org"
    assert after["ETag"] != before["ETag"]
    assert client.get(OPENID, HTTP_IF_NONE_MATCH=after["ETag"]).status_code == 304
    assert len(serializations) == prepared + 1
