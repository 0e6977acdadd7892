"""The token endpoint reads an authorization code's row once: validate_code locks it, and DOT's later
questions (redirect URI, PKCE challenge and method, nonce, session) are answered from that row."""

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone
from oauthlib.oauth2.rfc6749 import errors

from provider.oidc.models import AuthorizationCode
from provider.oidc.validators import SignetValidator

pytestmark = pytest.mark.django_db
CALLBACK = "https://rp.example.com/callback"


@pytest.fixture
def grant(rp_client, user):
    client, _ = rp_client
    return AuthorizationCode.objects.create(
        application=client,
        user=user,
        code="the-code",
        expires=timezone.now() + timedelta(seconds=60),
        redirect_uri=CALLBACK,
        scope="openid",
        code_challenge="challenge",
        code_challenge_method="S256",
        nonce="n-1",
        auth_time=1_700_000_000,
        sid="s-1",
    )


def test_questions_about_the_locked_code_need_no_query(grant, django_assert_num_queries):
    validator = SignetValidator()
    request = SimpleNamespace(signet_grant=grant, client=grant.application)
    with django_assert_num_queries(0):
        assert validator.confirm_redirect_uri("id", "the-code", CALLBACK, None, request)
        with pytest.raises(errors.InvalidGrantError):  # RFC 6749 5.2: the URI does not match the code's
            validator.confirm_redirect_uri("id", "the-code", CALLBACK + "2", None, request)
        assert validator.get_code_challenge("the-code", request) == "challenge"
        assert validator.get_code_challenge_method("the-code", request) == "S256"
        assert validator.get_authorization_code_nonce("id", "the-code", None, request) == "n-1"


def test_another_code_is_still_read_from_the_database(grant):
    other = AuthorizationCode.objects.create(
        application=grant.application,
        user=grant.user,
        code="other-code",
        expires=grant.expires,
        redirect_uri="https://rp.example.com/other",
        code_challenge="other-challenge",
        code_challenge_method="S256",
    )
    validator = SignetValidator()
    request = SimpleNamespace(signet_grant=grant, client=grant.application)
    client = grant.application
    assert validator.get_code_challenge(other.code, request) == "other-challenge"
    assert validator.confirm_redirect_uri("id", other.code, "https://rp.example.com/other", client, request)
    with pytest.raises(errors.InvalidGrantError):
        validator.confirm_redirect_uri("id", other.code, CALLBACK, client, request)


def test_validate_code_keeps_the_row_it_locked_for_the_later_questions(grant, django_assert_num_queries):
    from django.db import transaction
    from oauthlib.common import Request

    validator = SignetValidator()
    client = grant.application
    request = Request("https://testserver/token", http_method="POST")
    request.client = client
    with transaction.atomic():
        assert validator.validate_code(client.client_id, "the-code", client, request)
        with django_assert_num_queries(0):
            assert validator.confirm_redirect_uri(client.client_id, "the-code", CALLBACK, client, request)
            assert validator.get_code_challenge("the-code", request) == "challenge"
            assert validator.get_code_challenge_method("the-code", request) == "S256"
            assert (
                validator.get_authorization_code_nonce(client.client_id, "the-code", CALLBACK, request)
                == "n-1"
            )
    assert (request.auth_time, request.sid) == (1_700_000_000, "s-1")
