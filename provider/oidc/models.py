import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from oauth2_provider.models import AbstractApplication, AbstractGrant

DEFAULT_ALLOWED_SCOPES = "openid profile email offline_access"

PRIVATE_KEY_JWT = "private_key_jwt"
# The algorithms a client assertion may be signed with (token_endpoint_auth_signing_alg_values_supported).
ASSERTION_ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")
# The algorithms Signet can sign a client's ID, access and logout tokens with (keys/crypto.py); which
# of them a deployment offers is SIGNET_SIGNING_ALGS.
TOKEN_SIGNING_ALGORITHMS = ("RS256", "ES256", "EdDSA")

USER_SHAPED_CLIENT_ID = (
    "A client id may not be a UUID: users' subject identifiers are UUIDs, and a client's own tokens "
    "carry its client id as their subject, so it could pass for that user at a resource server."
)


def user_shaped(client_id):
    """True when a client id reads as a user's subject identifier: anything uuid.UUID accepts.

    RFC 9700 4.15 / RFC 9068 5: client-credentials tokens carry the client id as `sub`, and a
    resource server comparing subjects must never mistake a client for a user.
    """
    try:
        uuid.UUID(client_id)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


def _one_error_for_bad_uris(errors, schemes):
    """DOT's one error per bad word of the field, as one error naming every bad redirect URI."""
    bad = [e.params["value"] for e in errors if isinstance(e.params, dict) and "value" in e.params]
    others = [e for e in errors if not (isinstance(e.params, dict) and "value" in e.params)]
    if not bad:
        return errors
    allowed = " or ".join(schemes)
    return [
        *others,
        ValidationError(
            f"Not a valid redirect URI: {', '.join(bad)}. Each must be an absolute {allowed} URI "
            "without a fragment; separate them with spaces or new lines."
        ),
    ]


def signing_alg_problem(alg):
    """Why a client may not have its tokens signed with `alg`, or None: only an algorithm the key
    ring keeps a key for (SIGNET_SIGNING_ALGS) can sign."""
    if alg in settings.SIGNET_SIGNING_ALGS:
        return None
    offered = ", ".join(settings.SIGNET_SIGNING_ALGS)
    return f"{alg} is not offered here; choose one of {offered} (SIGNET_SIGNING_ALGS)."


def token_signing_alg(client):
    """The alg to sign a client's tokens with: its choice, or RS256 (which every deployment keeps,
    OIDC Core 15.1) if an operator has since taken that algorithm out of SIGNET_SIGNING_ALGS."""
    alg = client.id_token_signed_response_alg
    return alg if alg in settings.SIGNET_SIGNING_ALGS else "RS256"


def backchannel_logout_uri_problem(uri):
    """Why a back-channel logout URI cannot be registered, or None (empty is none registered)."""
    if not uri:
        return None
    schemes = ("https", "http") if settings.SIGNET_HTTP_REDIRECT_URIS else ("https",)
    problem = f"Must be an absolute {' or '.join(schemes)} URI without a fragment."
    try:
        parts = urlsplit(uri)
        host = parts.hostname
    except ValueError:
        return problem
    # Back-Channel Logout 1.0 2.2: an absolute URI, which MUST NOT include a fragment.
    if parts.scheme not in schemes or not host or "#" in uri or any(c.isspace() for c in uri):
        return problem
    return None


class Client(AbstractApplication):
    """A relying party (DOT's Application, swapped in before the first migration)."""

    allowed_scopes = models.TextField(
        default=DEFAULT_ALLOWED_SCOPES,
        blank=True,
        help_text="Space-separated scopes this client may request.",
    )
    audiences = models.TextField(
        blank=True,
        default="",
        help_text="Space-separated resource URIs this client may request tokens for (RFC 8707); "
        "the first is the default audience of its access tokens.",
    )
    access_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds; empty for SIGNET_ACCESS_TOKEN_LIFETIME."
    )
    id_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, help_text="Seconds; empty for SIGNET_ID_TOKEN_LIFETIME."
    )
    refresh_token_lifetime = models.PositiveIntegerField(
        null=True, blank=True, help_text="Idle seconds; empty for SIGNET_REFRESH_TOKEN_IDLE_LIFETIME."
    )
    identity_claims_in_access_token = models.BooleanField(
        default=False,
        help_text="Add email, given_name and family_name to access tokens when those scopes were granted.",
    )
    groups_in_access_token = models.BooleanField(
        default=False,
        help_text="Add the user's groups to access tokens when the groups scope was granted.",
    )
    allowed_groups = models.ManyToManyField(
        "auth.Group",
        blank=True,
        related_name="clients",
        help_text="Only members of these groups may use this client; none: every user may.",
    )
    is_active = models.BooleanField(
        default=True, help_text="A disabled client can neither sign in nor get tokens."
    )
    require_mfa = models.BooleanField(
        default=False, help_text="Users must sign in with a second factor to use this client."
    )
    # OpenID Connect Back-Channel Logout 1.0 2.2: where Signet POSTs a logout token when a sign-in
    # this client took part in ends (provider/oidc/backchannel.py).
    backchannel_logout_uri = models.CharField(
        max_length=2000,
        blank=True,
        default="",
        help_text="Absolute https URI (no fragment) that receives logout tokens; empty for none.",
    )
    backchannel_logout_session_required = models.BooleanField(
        default=False, help_text="Logout tokens must carry the sign-in's sid (they always do)."
    )
    # RFC 7591 2 / OIDC Core 9: how the client authenticates at the token, introspection and revocation
    # endpoints. Empty: with its secret (Basic or in the body), or not at all for a public client.
    token_endpoint_auth_method = models.CharField(
        max_length=32,
        blank=True,
        default="",
        choices=[
            ("", "Client secret (a public client: none)"),
            (PRIVATE_KEY_JWT, "private_key_jwt: a JWT signed with the client's key (no secret)"),
        ],
        help_text="private_key_jwt needs a JWKS or a JWKS URI with the client's public keys.",
    )
    token_endpoint_auth_signing_alg = models.CharField(
        max_length=8,
        blank=True,
        default="",
        choices=[("", "Any the key allows"), *((alg, alg) for alg in ASSERTION_ALGORITHMS)],
        help_text="Only assertions signed with this algorithm are accepted.",
    )
    # OIDC Dynamic Client Registration 2: the alg of this client's ID tokens (its access and logout
    # tokens too: one key family per client). Only SIGNET_SIGNING_ALGS may be chosen (clean()).
    id_token_signed_response_alg = models.CharField(
        max_length=8,
        default="RS256",
        choices=[(alg, alg) for alg in TOKEN_SIGNING_ALGORITHMS],
        help_text="Signet signs this client's ID, access and logout tokens with this algorithm.",
    )
    jwks = models.JSONField(
        null=True,
        blank=True,
        help_text='The client\'s public keys as a JWK Set ({"keys": [...]}); never a private key.',
    )
    # Checked by client_keys.jwks_uri_problem (https only), not URLField's http-or-ftp validator.
    jwks_uri = models.CharField(
        max_length=1024,
        blank=True,
        default="",
        help_text="An https URL serving the client's JWK Set, fetched and cached (instead of a JWKS).",
    )

    # RFC 7592: a client registered at /register (DOT's registration_source "dcr") is managed by its
    # developer with its registration access token, of which only the SHA-256 checksum is kept.
    registration_access_token_checksum = models.CharField(
        max_length=64, blank=True, default="", editable=False
    )
    # RFC 7591 2: what the client registered that Signet keeps but does not act on (contacts, logo_uri,
    # the token_endpoint_auth_method and grant_types as named), returned as registered.
    registration_metadata = models.JSONField(null=True, blank=True, editable=False)

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        verbose_name = "client"

    @property
    def registered_dynamically(self):
        return self.registration_source == self.RegistrationSource.DCR

    @property
    def from_metadata_document(self):
        """A client whose client_id is the URL of its metadata document (metadata_documents.py)."""
        return self.registration_source == self.RegistrationSource.CIMD

    def save(self, *args, **kwargs):
        # Every Signet client is an OpenID Connect client signing with the keys/ app's RSA keys.
        self.algorithm = self.RS256_ALGORITHM
        if self.from_metadata_document:
            # Anyone can publish a document: its users always see who they are consenting to.
            self.skip_authorization = False
        super().save(*args, **kwargs)

    def clean(self):
        errors = {}
        try:
            super().clean()
        except ValidationError as e:
            # DOT insists on OIDC_RSA_PRIVATE_KEY for RS256; Signet's keys live in keys/ instead.
            errors = {f: msgs for f, msgs in e.error_dict.items() if f != "algorithm"}
            if "redirect_uris" in errors:
                errors["redirect_uris"] = _one_error_for_bad_uris(
                    errors["redirect_uris"], self.get_allowed_schemes()
                )
        # Checked at creation only: the id is fixed afterwards, and a change form has no field for it.
        if self._state.adding and user_shaped(self.client_id):
            errors.setdefault("client_id", []).append(USER_SHAPED_CLIENT_ID)
        if problem := backchannel_logout_uri_problem(self.backchannel_logout_uri):
            errors.setdefault("backchannel_logout_uri", []).append(problem)
        for field, message in self.authentication_key_problems():
            errors.setdefault(field, []).append(message)
        if problem := signing_alg_problem(self.id_token_signed_response_alg):
            errors.setdefault("id_token_signed_response_alg", []).append(problem)
        if errors:
            raise ValidationError(errors)

    def authentication_key_problems(self):
        """(field, message) for each way the private_key_jwt settings do not fit together; one per field."""
        from .client_keys import jwks_problem, jwks_uri_problem

        problems = []
        if self.jwks is not None and (problem := jwks_problem(self.jwks)):
            problems.append(("jwks", problem))
        if self.jwks_uri and (problem := jwks_uri_problem(self.jwks_uri)):
            problems.append(("jwks_uri", problem))
        elif self.jwks is not None and self.jwks_uri:
            # RFC 7591 2: jwks and jwks_uri MUST NOT both be present.
            problems.append(("jwks_uri", "Give either a JWKS or a JWKS URI, not both."))
        if self.token_endpoint_auth_method == PRIVATE_KEY_JWT:
            if self.client_type != self.CLIENT_CONFIDENTIAL:
                problems.append(("client_type", "A private_key_jwt client is confidential."))
            if self.jwks is None and not self.jwks_uri:
                problems.append(
                    ("jwks", "private_key_jwt needs the client's public keys: a JWKS or a JWKS URI.")
                )
        elif self.token_endpoint_auth_signing_alg:
            problems.append(
                ("token_endpoint_auth_signing_alg", "Only a private_key_jwt client signs assertions.")
            )
        return problems

    @property
    def authenticates_with_key(self):
        return self.token_endpoint_auth_method == PRIVATE_KEY_JWT

    @property
    def jwk_key(self):
        """The active signing key (DOT reads this to sign ID tokens)."""
        from keys.selectors import active_signing_key

        return active_signing_key().private_jwk

    def is_usable(self, request):
        return self.is_active

    # Redirect URIs match exactly, character for character (OAuth 2.0 Security BCP 4.1.3).
    def redirect_uri_allowed(self, uri):
        return isinstance(uri, str) and "#" not in uri and uri in self.redirect_uris.split()

    def post_logout_redirect_uri_allowed(self, uri):
        return isinstance(uri, str) and "#" not in uri and uri in self.post_logout_redirect_uris.split()

    @property
    def scope_list(self):
        return self.allowed_scopes.split()

    @property
    def audience_list(self):
        return self.audiences.split()


class AuthorizationCode(AbstractGrant):
    """DOT's Grant, plus what the ID token must say about the session that authorized it."""

    auth_time = models.PositiveBigIntegerField(null=True, blank=True)
    sid = models.CharField(max_length=64, blank=True, default="")
    acr = models.CharField(max_length=64, blank=True, default="")
    # RFC 8176 values: how the session that authorized this code signed in.
    amr = models.JSONField(default=list, blank=True)

    class Meta(AbstractGrant.Meta):
        swappable = "OAUTH2_PROVIDER_GRANT_MODEL"


class Consent(models.Model):
    """A user's remembered approval of scopes for one client."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="consents")
    scopes = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "client"], name="oidc_consent_user_client")]

    def __str__(self):
        return f"{self.user} → {self.client}: {self.scopes}"

    def covers(self, scopes):
        return set(scopes) <= set(self.scopes.split())


class TokenFamily(models.Model):
    """A grant: what one sign-in (a code or password exchange) gave one client, and its refresh tokens.

    Access tokens are not stored: each names its grant (`grant_id`), and is active only while the grant
    is. Refresh tokens (DOT's RefreshToken rows, linked by `token_family`) rotate within it. It keeps
    what every later token needs: the granted scopes and resources, the sign-in's auth_time, sid and
    acr (OIDC Core 12.2), the claims the sign-in's claims request asked for, an absolute deadline,
    and the code it was exchanged for (a checksum), so a replayed code revokes it (RFC 6749 4.1.2).
    """

    family = models.UUIDField(unique=True, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="token_families")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="token_families"
    )
    code_checksum = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    scope = models.TextField(blank=True, default="", help_text="The granted scopes, space-separated.")
    resource = models.JSONField(
        default=list, blank=True, help_text="The granted resources (RFC 8707), each a token audience."
    )
    auth_time = models.PositiveBigIntegerField(null=True, blank=True)
    sid = models.CharField(max_length=64, blank=True, default="")
    acr = models.CharField(
        max_length=64, blank=True, default="", help_text="Only when the sign-in asked for it."
    )
    amr = models.JSONField(
        default=list, blank=True, help_text="How the sign-in authenticated (RFC 8176 values)."
    )
    id_token_claims = models.JSONField(
        null=True, blank=True, help_text="The id_token part of the sign-in's claims request (OIDC Core 5.5)."
    )
    userinfo_claims = models.JSONField(
        null=True, blank=True, help_text="The userinfo part of the sign-in's claims request (OIDC Core 5.5)."
    )
    offline = models.BooleanField(default=False, help_text="Granted offline_access.")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True, help_text="Absolute end of every token in the family.")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "grant"

    def __str__(self):
        return f"grant {self.family}"

    @property
    def scope_list(self):
        return self.scope.split()


class RevokedAccessToken(models.Model):
    """An access token revoked at /revoke (RFC 7009), by its jti, until the token itself expires.

    Only explicit revocations land here: anything that ends a whole grant ends its access tokens
    through the grant, and a purge deletes the rows of tokens that have expired anyway.
    """

    jti = models.CharField(max_length=64, primary_key=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self):
        return f"revoked access token {self.jti}"


class ClientAssertionJti(models.Model):
    """A client assertion's jti, kept until the assertion expires so it is never accepted twice.

    RFC 7523 3 item 7 / OIDC Core 9: the unique constraint decides a race: of two requests with the
    same assertion, exactly one INSERT succeeds.
    """

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    jti = models.CharField(max_length=255)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["client", "jti"], name="oidc_client_assertion_jti_once")
        ]

    def __str__(self):
        return f"client assertion {self.jti}"


class DeviceAuthorization(models.Model):
    """One device authorization request (RFC 8628 3.1): its codes, what it asks, and the user's answer.

    The device code is stored as its SHA-256 checksum only, as refresh tokens are; the user code is
    stored normalised (8 letters, no dash). Once approved it keeps what the ID token must say about
    the approving session (auth_time, sid, acr, amr), as an AuthorizationCode does.
    """

    PENDING, APPROVED, DENIED, USED = "pending", "approved", "denied", "used"
    STATUSES = ((PENDING, "pending"), (APPROVED, "approved"), (DENIED, "denied"), (USED, "used"))

    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="device_authorizations")
    device_code_checksum = models.CharField(max_length=64, unique=True, editable=False)
    user_code = models.CharField(max_length=8, unique=True, editable=False)
    scope = models.TextField(blank=True, default="")
    resource = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=8, choices=STATUSES, default=PENDING)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="device_authorizations",
    )
    auth_time = models.PositiveBigIntegerField(null=True, blank=True)
    sid = models.CharField(max_length=64, blank=True, default="")
    acr = models.CharField(max_length=64, blank=True, default="")
    amr = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)
    interval = models.PositiveIntegerField(help_text="Seconds the device must wait between polls.")
    last_polled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "device authorization"

    def __str__(self):
        return f"device authorization {self.user_code[:4]}-{self.user_code[4:]} ({self.status})"

    @property
    def scope_list(self):
        return self.scope.split()


class InitialAccessToken(models.Model):
    """An initial access token (RFC 7591 3): lets whoever holds it register one client at /register.

    Minted by an operator (`manage.py clients registration-token`), shown once, stored as its SHA-256
    checksum. Single-use: a token handed to a developer registers one client, so a leaked or forgotten
    one is worth at most one client, and each registration traces back to one minting.
    """

    checksum = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)
    client_id = models.CharField(
        max_length=100, blank=True, default="", help_text="The client it registered."
    )
    created_by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        verbose_name = "initial access token"

    def __str__(self):
        return f"initial access token {self.pk}"
