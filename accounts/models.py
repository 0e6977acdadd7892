import uuid

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from .managers import UserManager


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in. The UUID primary key is the immutable OIDC `sub`."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField("email address", max_length=254)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self):
        return self.email

    def clean(self):
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).strip()

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class TotpDevice(models.Model):
    """A user's TOTP authenticator (RFC 6238). The secret is stored encrypted with the key-encryption key."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="totp")
    secret_encrypted = models.TextField(editable=False)
    # The last time step a code was accepted for: a code is never accepted twice (RFC 6238 5.2).
    last_used_step = models.BigIntegerField(null=True, blank=True, editable=False)
    confirmed_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty until a first code confirmed it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "TOTP authenticator"

    def __str__(self):
        return f"TOTP authenticator of {self.user}"


class RecoveryCode(models.Model):
    """A one-time recovery code, stored hashed; `used_at` is set when it is spent."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=128, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "code_hash"], name="accounts_recovery_code_unique")
        ]

    def __str__(self):
        return f"recovery code of {self.user}"


class Passkey(models.Model):
    """A WebAuthn credential (a passkey or a security key) registered to a user."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="passkeys")
    name = models.CharField(max_length=64)
    # base64url of the credential id, as WebAuthn's JSON serialisation carries it.
    credential_id = models.CharField(max_length=1400, unique=True, editable=False)
    public_key = models.BinaryField(editable=False)  # COSE_Key
    sign_count = models.PositiveBigIntegerField(default=0, editable=False)
    transports = models.JSONField(default=list, blank=True, editable=False)
    aaguid = models.CharField(max_length=36, blank=True, default="", editable=False)
    backup_eligible = models.BooleanField(default=False, editable=False)
    backed_up = models.BooleanField(default=False, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"passkey {self.name!r} of {self.user}"


class SignInSession(models.Model):
    """One sign-in of one browser, from sign-in to sign-out: what the account page and the admin list.

    `sid` is the OIDC session id the browser session carries (accounts/sessions.py) and its tokens
    name; `clients` are the client ids that received a code or tokens in it, the ones told by
    back-channel logout when it ends (provider/oidc/backchannel.py).
    """

    sid = models.CharField(max_length=64, unique=True, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sign_in_sessions")
    # The Django session row to delete when the sign-in is ended from elsewhere (kept current).
    session_key = models.CharField(max_length=40, blank=True, default="", editable=False)
    user_agent = models.CharField(max_length=200, blank=True, default="", editable=False)
    ip_address = models.GenericIPAddressField(null=True, blank=True, editable=False)
    methods = models.JSONField(default=list, blank=True, editable=False, help_text="RFC 8176 amr values.")
    clients = models.JSONField(default=list, blank=True, editable=False, help_text="Client ids.")
    # The sids this browser had before it signed in again (prompt=login gives a new sid): what was
    # issued under them ends with this sign-in.
    earlier_sids = models.JSONField(default=list, blank=True, editable=False)
    started_at = models.DateTimeField(default=timezone.now, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True, editable=False)
    end_reason = models.CharField(max_length=32, blank=True, default="", editable=False)

    class Meta:
        verbose_name = "sign-in session"
        ordering = ["-last_seen_at"]
        indexes = [models.Index(fields=["user", "ended_at"], name="accounts_signin_user_live")]

    def __str__(self):
        return f"sign-in of {self.user} at {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def is_live(self):
        return self.ended_at is None
