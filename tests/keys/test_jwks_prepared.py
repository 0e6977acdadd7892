"""The JWKS is served from bytes prepared once per key set (keys/views.py, provider/prepared.py)."""

import hashlib

import pytest

from keys import selectors, services
from tests.keys.conftest import RELOAD_NEVER

pytestmark = pytest.mark.django_db


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


@pytest.fixture
def keys(db):
    services.key_ensure_active()
    selectors.invalidate()


def test_the_bytes_are_prepared_once_and_the_etag_is_their_hash(client, keys, serializations):
    first = client.get("/jwks")
    assert first["ETag"] == '"' + hashlib.sha256(first.content).hexdigest()[:32] + '"'
    prepared = len(serializations)  # 0 when an earlier test served this same key set
    again = client.get("/jwks")
    assert again.content == first.content and again["ETag"] == first["ETag"]
    assert client.get("/jwks", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert len(serializations) == prepared <= 1


def test_a_rotation_prepares_new_bytes_with_a_new_etag(client, keys, serializations):
    before = client.get("/jwks")["ETag"]
    prepared = len(serializations)
    rotation = services.key_rotate()
    selectors.invalidate()
    after = client.get("/jwks", HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200 and after["ETag"] != before
    assert rotation.retired.kid in {k["kid"] for k in after.json()["keys"]}
    assert client.get("/jwks", HTTP_IF_NONE_MATCH=after["ETag"]).status_code == 304
    assert len(serializations) == prepared + 1


def test_a_retired_key_leaving_on_time_changes_the_bytes(client, keys, preset, clock):
    """Its time running out changes no ring version: what is served follows the published keys."""
    preset(RELOAD_NEVER)
    rotation = services.key_rotate()
    selectors.invalidate()
    published = client.get("/jwks")
    assert rotation.retired.kid in {k["kid"] for k in published.json()["keys"]}
    clock.advance(days=3650)
    later = client.get("/jwks", HTTP_IF_NONE_MATCH=published["ETag"])
    assert later.status_code == 200 and later["ETag"] != published["ETag"]
    assert rotation.retired.kid not in {k["kid"] for k in later.json()["keys"]}


def test_head_and_conditional_head(client, keys):
    etag = client.get("/jwks")["ETag"]
    head = client.head("/jwks")
    assert head.status_code == 200 and head["ETag"] == etag and head.content == b""
    assert client.head("/jwks", HTTP_IF_NONE_MATCH=etag).status_code == 304
