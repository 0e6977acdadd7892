"""An authorization request is validated once per request (issue 15: it used to run twice)."""

import pytest
from oauth2_provider.oauth2_backends import OAuthLibCore

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def validations(monkeypatch):
    calls = []
    original = OAuthLibCore.validate_authorization_request

    def counting(self, request):
        calls.append(request.path)
        return original(self, request)

    monkeypatch.setattr(OAuthLibCore, "validate_authorization_request", counting)
    return calls


def test_the_consent_page_validates_the_request_once(flow, user, validations):
    flow.log_in(flow.authorize())  # signed in; the next GET shows the consent page
    validations.clear()
    page = flow.authorize()
    assert 'id="authorizationForm"' in page.text
    assert validations == ["/authorize"]


def test_remembered_consent_validates_the_request_once(flow, user, validations):
    flow.tokens()  # signs in and allows: the consent is remembered
    validations.clear()
    response = flow.authorize()
    assert response.status_code == 302 and "code=" in response.headers["Location"]
    assert validations == ["/authorize"]
