"""What one token request has established so far: built by the endpoint, passed explicitly to the
client authentication, the grant and the issuance, each of which fills in its part."""

from dataclasses import dataclass, field
from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone


@dataclass
class TokenRequest:
    http: HttpRequest
    # Single-valued form parameters (params.form_problem refused repeats); `resource` may repeat.
    params: dict[str, str]
    resources: list[str]
    now: datetime = field(default_factory=timezone.now)
    grant_type: str = ""
    client: object = None  # the authenticated Client
    auth_method: str = ""  # client_secret_basic, client_secret_post or none
    user: object = None  # the resource owner; None for client_credentials
    scopes: list[str] = field(default_factory=list)
    # The grant (TokenFamily) the tokens belong to; None for client_credentials.
    grant: object = None
    nonce: str = ""  # the code's nonce, repeated in its ID token (OIDC Core 3.1.3.6)

    @classmethod
    def from_http(cls, http):
        params = {name: value for name, value in http.POST.items() if name != "resource"}
        return cls(http=http, params=params, resources=[r for r in http.POST.getlist("resource") if r])

    def param(self, name):
        """A parameter's value, None when absent or empty (RFC 6749 3.1: empty counts as omitted)."""
        return self.params.get(name) or None

    @property
    def epoch(self):
        return int(self.now.timestamp())
