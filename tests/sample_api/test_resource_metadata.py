"""RFC 9728: the sample API publishes its protected-resource metadata, and its 401s point at it."""

import pytest

from tests.sample_api.conftest import AUDIENCE

pytestmark = pytest.mark.django_db(transaction=True)
WELL_KNOWN = "/.well-known/oauth-protected-resource"


def test_the_metadata_names_the_resource_its_server_scopes_and_bearer_methods(issuer, sample_api):
    response = sample_api.get(WELL_KNOWN)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.json() == {
        "resource": AUDIENCE,  # 3.3: exactly the identifier the well-known URL is derived from
        "authorization_servers": [issuer],
        "scopes_supported": ["profile", "notes:write"],
        "bearer_methods_supported": ["header"],
    }
    assert sample_api.get(WELL_KNOWN + "/another-resource").status_code == 404


def test_a_401_points_at_the_metadata(issuer, sample_api):
    url = f"{AUDIENCE}{WELL_KNOWN}"
    missing = sample_api.get("/hello/")
    bad = sample_api.get("/hello/", "not-a-token")
    for response in (missing, bad):
        assert response.status_code == 401
        assert f'resource_metadata="{url}"' in response.headers["WWW-Authenticate"]
    assert 'error="invalid_token"' in bad.headers["WWW-Authenticate"]


def test_a_resource_identifier_with_a_path_has_its_metadata_under_that_path(issuer, sample_api_factory):
    api = sample_api_factory(RESOURCE_AUDIENCE="https://api.example.com/notes")
    response = api.get(WELL_KNOWN + "/notes")
    assert response.status_code == 200 and response.json()["resource"] == "https://api.example.com/notes"
    assert api.get(WELL_KNOWN).status_code == 404
    challenge = api.get("/hello/").headers["WWW-Authenticate"]
    assert (
        'resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/notes"' in challenge
    )
