import pytest

from tests.conftest import PASSWORD, POST_LOGOUT_URI, REDIRECT_URI
from tests.oidc.flows import Flow
from tests.support.browser import Browser


@pytest.fixture
def flow(issuer, browser, rp_client):
    """The confidential relying party (rp_client) in one browser."""
    client, secret = rp_client
    return Flow(issuer=issuer, browser=browser, client=client, secret=secret)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user(
        "bob@example.com", PASSWORD, first_name="Bob", last_name="Builder", email_verified=False
    )


def _client(**kwargs):
    from provider.oidc.services import client_create

    defaults = {
        "client_type": "confidential",
        "grant": "authorization-code",
        "redirect_uris": [REDIRECT_URI],
        "post_logout_redirect_uris": [POST_LOGOUT_URI],
    }
    return client_create(**{**defaults, **kwargs})


@pytest.fixture
def first_party_flow(issuer, browser, db):
    """A first-party client (skip_authorization): its users never see a consent page."""
    client, secret = _client(name="Signet Console", skip_consent=True)
    return Flow(issuer=issuer, browser=browser, client=client, secret=secret)


@pytest.fixture
def public_flow(issuer, browser, db):
    """A public client (no secret): PKCE is mandatory."""
    client, _ = _client(name="Mobile App", client_type="public")
    return Flow(issuer=issuer, browser=browser, client=client, secret=None)


@pytest.fixture
def narrow_flow(issuer, browser, db):
    """A client allowed only the openid scope."""
    client, secret = _client(name="Narrow RP", scopes=["openid"])
    return Flow(issuer=issuer, browser=browser, client=client, secret=secret)


@pytest.fixture
def other_browser(issuer):
    return Browser(issuer)
