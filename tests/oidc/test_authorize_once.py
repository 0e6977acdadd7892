"""An authorization request is validated once per request (issue 15: it used to run twice), by
Signet's own endpoint: no oauthlib request, validator or server on the way."""

import pytest

from provider.oidc import authorization_request, metadata_documents

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def validations(monkeypatch):
    """Every run of the rules, and every client lookup they make."""
    calls = []
    validate, client_for = authorization_request.validate, metadata_documents.client_for

    def counting_validate(params):
        calls.append("validate")
        return validate(params)

    def counting_client_for(client_id):
        calls.append("client")
        return client_for(client_id)

    monkeypatch.setattr(authorization_request, "validate", counting_validate)
    monkeypatch.setattr(metadata_documents, "client_for", counting_client_for)
    return calls


def test_the_consent_page_validates_the_request_once(flow, user, validations):
    flow.log_in(flow.authorize())  # signed in; the next GET shows the consent page
    validations.clear()
    page = flow.authorize()
    assert 'id="authorizationForm"' in page.text
    assert validations == ["validate", "client"]


def test_remembered_consent_validates_the_request_once(flow, user, validations):
    flow.tokens()  # signs in and allows: the consent is remembered
    validations.clear()
    response = flow.authorize()
    assert response.status_code == 302 and "code=" in response.headers["Location"]
    assert validations == ["validate", "client"]


def test_the_consent_form_is_validated_once(flow, user, validations):
    page = flow.log_in(flow.authorize())
    validations.clear()
    response = flow.allow(page)
    assert "code" in flow.at_relying_party(response)
    assert validations == ["validate", "client"]


def test_an_error_is_found_by_one_validation(flow, validations):
    response = flow.authorize(scope="openid admin")
    assert flow.at_relying_party(response)["error"] == "invalid_scope"
    assert validations == ["validate", "client"]


def test_no_oauthlib_object_is_built_on_the_way(flow, user, monkeypatch):
    import oauthlib.common

    def refuse(*args, **kwargs):
        raise AssertionError("an oauthlib request was built")

    monkeypatch.setattr(oauthlib.common.Request, "__init__", refuse)
    assert "code" in flow.sign_in(scope="openid profile")


def test_a_silent_request_asks_each_session_question_once(flow, user, monkeypatch):
    """prompt=none: the refusals decide everything, so the second-step, group and consent questions,
    each a query, are not asked again by the steps that would show a page."""
    from provider.oidc import access_policy
    from provider.oidc.endpoints import authorize

    flow.tokens()  # signed in, consent remembered
    asked = []
    for module, name in (
        (authorize, "session_step"),
        (access_policy, "user_may_use"),
        (authorize, "consent_covers"),
    ):
        original = getattr(module, name)

        def counting(*args, _original=original, _name=name, **kwargs):
            asked.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    response = flow.authorize(prompt="none")
    assert response.status_code == 302 and "code=" in response.headers["Location"]
    assert sorted(asked) == ["consent_covers", "session_step", "user_may_use"]
