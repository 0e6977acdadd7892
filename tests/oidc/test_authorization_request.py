"""The authorization request's rules, imported directly (provider/oidc/authorization_request.py).

The black-box tests over HTTP (test_authorize_errors.py and the others) show what a relying party
sees; these pin what they cannot: which rule speaks first, and that a page is chosen only while the
client or its redirect URI is in doubt.
"""

import pytest
from django.http import QueryDict

from provider.oidc import authorization_request
from provider.oidc.authorization_request import (
    AuthorizationError,
    ConsentForm,
    Params,
    from_consent_form,
    from_query,
)
from tests.conftest import REDIRECT_URI
from tests.support.browser import pkce_pair

pytestmark = pytest.mark.django_db

CHALLENGE = pkce_pair()[1]


@pytest.fixture
def client(rp_client):
    return rp_client[0]


def query(client, **overrides):
    params = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": "s1",
        "nonce": "n1",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    q = QueryDict(mutable=True)
    for name, value in params.items():
        if value is None:
            continue
        for one in value if isinstance(value, list) else [value]:
            q.appendlist(name, one)
    return q


def refusal(q):
    with pytest.raises(AuthorizationError) as caught:
        from_query(q)
    return caught.value


def test_a_valid_request_is_read_into_one_frozen_object(client):
    authz = from_query(query(client, resource=["https://api.example.com"], max_age="60", prompt="login"))
    assert authz.client.client_id == client.client_id
    assert authz.scopes == ("openid", "profile")
    assert authz.resources == ("https://api.example.com",)
    assert authz.max_age == 60 and authz.prompt == frozenset({"login"})
    assert authz.response_mode == "query" and authz.code_challenge_method == "S256"
    with pytest.raises(AttributeError):
        authz.state = "changed"


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": None},
        {"client_id": "no-such-client"},
        {"client_id": "a\x00b"},
        {"redirect_uri": None},
        {"redirect_uri": "https://attacker.example/cb"},
        {"state": ["a", "b"]},
        {"scope": ["openid", "openid"]},
    ],
)
def test_errors_before_the_client_and_its_uri_are_trusted_are_pages(client, overrides):
    assert refusal(query(client, **overrides)).target is None


def test_a_page_error_comes_before_any_other(client):
    # A bad redirect_uri and an unsupported response type: the URI cannot be trusted, so a page.
    error = refusal(query(client, redirect_uri="https://attacker.example/cb", response_type="token"))
    assert error.target is None and "redirect" in error.description.lower()


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"response_type": None}, "invalid_request"),
        ({"response_type": "token", "nonce": ["a", "b"]}, "invalid_request"),  # repeats first
        ({"response_type": "token", "request": "x"}, "unsupported_response_type"),
        ({"request": "x", "response_mode": "form_post"}, "request_not_supported"),
        ({"response_mode": "form_post", "prompt": "create"}, "invalid_request"),
        ({"max_age": "-1", "scope": "openid admin"}, "invalid_request"),
        ({"code_challenge_method": "plain", "scope": "openid admin"}, "invalid_request"),
        ({"resource": "https://elsewhere.example", "scope": "openid admin"}, "invalid_target"),
        ({"scope": "openid admin", "prompt": "none login"}, "invalid_scope"),
        ({"prompt": "none login", "id_token_hint": "garbage"}, "invalid_request"),
    ],
)
def test_the_first_rule_broken_speaks(client, overrides, error):
    refused = refusal(query(client, **overrides))
    assert refused.error == error, refused.description
    assert refused.target is not None and refused.target.state == "s1"


def test_errors_go_into_the_fragment_only_when_that_mode_was_asked_for(client):
    assert refusal(query(client, scope="openid admin", response_mode="fragment")).target.response_mode == (
        "fragment"
    )
    assert refusal(query(client, response_mode="form_post")).target.response_mode == "query"


def test_empty_values_count_as_omitted(client):
    # RFC 6749 3.1: a parameter sent without a value is treated as omitted.
    authz = from_query(query(client, state="", nonce="", scope=""))
    assert authz.state is None and authz.nonce is None and authz.scopes == ("openid",)


def test_only_resource_may_repeat():
    params = Params([("resource", ["a", "b"]), ("nonce", ["x", "y"]), ("state", ["s"])])
    assert params.all("resource") == ["a", "b"] and params.repeated == {"resource", "nonce"}


def test_the_consent_form_carries_the_request_back_unchanged(client):
    authz = from_query(
        query(
            client,
            resource=["https://api.example.com"],
            acr_values="2 1",
            response_mode="fragment",
            claims='{"id_token":{"acr":null}}',
            state=" spaced state ",
        )
    )
    form = ConsentForm.of(authz)
    posted = ConsentForm({name: "" if value is None else value for name, value in form.initial.items()})
    again = from_consent_form(posted)
    for field in ("redirect_uri", "scopes", "state", "nonce", "code_challenge", "claims", "acr_values"):
        assert getattr(again, field) == getattr(authz, field), field
    assert again.resources == authz.resources and again.response_mode == "fragment"


def test_an_edited_consent_form_is_validated_again(client):
    form = ConsentForm.of(from_query(query(client)))
    data = {name: "" if value is None else value for name, value in form.initial.items()}
    with pytest.raises(AuthorizationError) as caught:
        from_consent_form(ConsentForm({**data, "redirect_uri": "https://attacker.example/cb"}))
    assert caught.value.target is None
    with pytest.raises(AuthorizationError) as caught:
        from_consent_form(ConsentForm({**data, "scope": "openid admin"}))
    assert caught.value.error == "invalid_scope"


def test_each_rule_runs_once_per_request(client, monkeypatch):
    calls = []
    for name in ("active_client", "allowed_scopes", "verified_id_token_hint"):
        original = getattr(authorization_request, name)

        def counting(*args, _original=original, _name=name):
            calls.append(_name)
            return _original(*args)

        monkeypatch.setattr(authorization_request, name, counting)
    from_query(query(client))
    assert sorted(calls) == ["active_client", "allowed_scopes", "verified_id_token_hint"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("client_id", "a\x00b"),
        ("client_id", "https://" + "x" * 5000),
        ("redirect_uri", "\x00"),
        ("claims", "["),
        ("claims", '{"id_token": []}'),
        ("resource", "not a uri"),
        ("code_challenge_method", "S256\x00"),
        ("code_challenge", "x" * 5000),
        ("scope", "\x00"),
    ],
)
def test_a_hostile_consent_form_is_an_authorization_error(client, field, value):
    form = ConsentForm.of(from_query(query(client)))
    data = {name: "" if v is None else v for name, v in form.initial.items()}
    with pytest.raises(AuthorizationError):
        from_consent_form(ConsentForm({**data, field: value}))


@pytest.mark.parametrize("field", ["nonce", "state", "login_hint", "acr_values", "ui_locales"])
def test_a_nul_in_any_value_is_refused_back_to_the_client(client, field):
    # PostgreSQL cannot store a NUL: a nonce with one reached the code's row and answered 500.
    error = refusal(query(client, **{field: "a\x00b"}))
    assert error.error == "invalid_request" and error.target is not None
    assert "NUL" in error.description


def test_a_nonce_longer_than_the_code_row_keeps_is_refused_back_to_the_client(client):
    assert from_query(query(client, nonce="n" * 255)).nonce == "n" * 255
    error = refusal(query(client, nonce="n" * 256))
    assert error.error == "invalid_request" and error.target is not None
