"""What one request has established so far, built by its endpoint and passed explicitly.

TokenRequest: passed to the client authentication, the grant and the issuance, each of which fills in
its part. AuthorizationContext: the validated authorization request and the browser session it is
answered for, both read once.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone

from accounts import authn
from accounts.sessions import session_auth_time, session_sid


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


@dataclass(frozen=True)
class BrowserSession:
    """What the browser session knows: the signed-in user (None when nobody is), when and which
    session signed in (OIDC Core 2 auth_time, sid), and how (RFC 8176 amr values, accounts/authn.py)."""

    user: object = None
    auth_time: int | None = None
    sid: str | None = None
    methods: tuple[str, ...] = ()

    @classmethod
    def of(cls, http):
        user = getattr(http, "user", None)
        if user is None or not user.is_authenticated:
            return cls()
        return cls(
            user=user,
            auth_time=session_auth_time(http),
            sid=session_sid(http),
            methods=tuple(authn.session_methods(http)),
        )


@dataclass(frozen=True)
class AuthorizationContext:
    """One authorization request being answered (endpoints/authorize.py)."""

    http: HttpRequest
    authz: object  # the AuthorizationRequest (authorization_request.py), validated once
    session: BrowserSession

    @classmethod
    def of(cls, http, authz):
        return cls(http=http, authz=authz, session=BrowserSession.of(http))
