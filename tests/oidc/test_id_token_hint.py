"""OIDC Core 3.1.2.1 `id_token_hint`: verified (any published key, even expired), names the session user."""

import time

import pytest

from tests.oidc.flows import is_login_page

pytestmark = pytest.mark.django_db(transaction=True)


def signed(claims, **header):
    from keys import jwt

    return jwt.sign(claims, **header)


def forged_hint(flow, user, **changes):
    now = int(time.time())
    claims = {
        "iss": flow.issuer,
        "sub": str(user.pk),
        "aud": flow.client.client_id,
        "iat": now,
        "exp": now + 60,
    }
    claims.update(changes)
    return signed({k: v for k, v in claims.items() if v is not None})


def test_prompt_none_with_a_hint_for_the_session_user_succeeds_silently(flow, user):
    tokens = flow.tokens()
    params = flow.at_relying_party(flow.authorize(prompt="none", id_token_hint=tokens["id_token"]))
    claims = flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])
    assert claims["sub"] == str(user.pk)


def test_an_expired_hint_is_still_a_hint(flow, user):
    flow.tokens()
    hint = forged_hint(flow, user, iat=int(time.time()) - 7200, exp=int(time.time()) - 3600)
    assert "code" in flow.at_relying_party(flow.authorize(prompt="none", id_token_hint=hint))


def test_a_hint_signed_by_a_retired_key_is_accepted(flow, user):
    from keys.selectors import reset_cache
    from keys.services import key_rotate

    tokens = flow.tokens()
    key_rotate()
    reset_cache()
    assert "code" in flow.at_relying_party(flow.authorize(prompt="none", id_token_hint=tokens["id_token"]))


def test_prompt_none_with_a_hint_for_someone_else_is_login_required(flow, user, bob):
    flow.tokens()
    params = flow.at_relying_party(flow.authorize(prompt="none", id_token_hint=forged_hint(flow, bob)))
    assert params["error"] == "login_required"
    assert "code" not in params


def test_a_hint_for_someone_else_without_prompt_is_an_error_too(flow, user, bob):
    flow.tokens()
    params = flow.at_relying_party(flow.authorize(id_token_hint=forged_hint(flow, bob)))
    assert params["error"] == "login_required"


def test_logging_in_as_the_hinted_user_satisfies_the_hint(flow, user, bob):
    flow.tokens()  # alice's session
    page = flow.authorize(prompt="login", id_token_hint=forged_hint(flow, bob))
    assert is_login_page(page)
    page = flow.log_in(page, "bob@example.com")
    params = flow.at_relying_party(flow.allow(page))
    claims = flow.id_token_claims(flow.exchange(params["code"]).json()["id_token"])
    assert claims["sub"] == str(bob.pk)


def test_logging_in_as_someone_else_than_the_hint_names_is_login_required(flow, user, bob):
    page = flow.authorize(id_token_hint=forged_hint(flow, bob))
    assert is_login_page(page)
    params = flow.at_relying_party(flow.log_in(page, "alice@example.com"))
    assert params["error"] == "login_required"


def _garbage_hints(flow, user):
    import base64
    import json

    def b64(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    now = int(time.time())
    payload = {
        "iss": flow.issuer,
        "sub": str(user.pk),
        "aud": flow.client.client_id,
        "iat": now,
        "exp": now + 60,
    }
    good = forged_hint(flow, user)
    header, body, signature = good.split(".")
    return {
        "not a token": "garbage",
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(payload)}.",
        "tampered payload": f"{header}.{b64({**payload, 'sub': 'someone'})}.{signature}",
        "unknown kid": f"{b64({'alg': 'RS256', 'typ': 'JWT', 'kid': 'nope'})}.{body}.{signature}",
        "another issuer": forged_hint(flow, user, iss="https://evil.example"),
        "an access token": signed(payload, typ="at+jwt"),
    }


@pytest.mark.parametrize("prompt", ["none", None])
def test_a_garbage_hint_is_invalid_request_never_a_silent_success(flow, user, prompt):
    flow.tokens()
    for kind, hint in _garbage_hints(flow, user).items():
        params = flow.at_relying_party(flow.authorize(prompt=prompt, id_token_hint=hint))
        assert params["error"] == "invalid_request", (kind, params)
        assert "id_token_hint" in params["error_description"], kind
        assert "code" not in params, kind


def test_a_garbage_hint_is_refused_before_the_login_page(flow):
    params = flow.at_relying_party(flow.authorize(id_token_hint="garbage"))
    assert params["error"] == "invalid_request"
