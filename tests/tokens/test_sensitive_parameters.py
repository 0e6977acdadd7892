"""Error reports (Django's SafeExceptionReporterFilter) never show the credentials a machine endpoint
was sent: each endpoint marks its secret POST parameters."""

import pytest
from django.test import Client
from django.views.debug import SafeExceptionReporterFilter

pytestmark = pytest.mark.django_db

SECRETS = {
    "/token": [
        "password",
        "client_secret",
        "client_assertion",
        "code",
        "refresh_token",
        "code_verifier",
        "device_code",
    ],
    "/introspect": ["token", "client_secret", "client_assertion"],
    "/revoke": ["token", "client_secret", "client_assertion"],
    "/device/authorize": ["client_secret", "client_assertion"],
}


@pytest.mark.parametrize(("path", "names"), SECRETS.items())
def test_an_error_report_hides_the_credentials(path, names):
    sent = {name: f"secret-{name}-value" for name in names}
    response = Client().post(path, {"grant_type": "client_credentials", **sent})
    shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)
    for name in names:
        assert shown[name] != sent[name], name
    assert shown["grant_type"] == "client_credentials"  # the rest is shown as sent
