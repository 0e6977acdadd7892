from django.db import models
from django.utils import timezone


class SigningKey(models.Model):
    """An asymmetric signing key. The private half is stored only encrypted (see keys/crypto.py)."""

    class State(models.TextChoices):
        NEXT = "next", "next (published, not yet signing)"
        ACTIVE = "active", "active (signing)"
        RETIRED = "retired", "retired (published until its tokens expire)"
        REVOKED = "revoked", "revoked (withdrawn)"

    # RFC 7638 thumbprint of the public key.
    kid = models.CharField(max_length=64, unique=True)
    alg = models.CharField(max_length=10, default="RS256")
    size = models.PositiveIntegerField(default=2048)
    state = models.CharField(max_length=10, choices=State.choices, db_index=True)
    public_jwk = models.JSONField()
    # A JWE (dir, A256GCM) of the private JWK under the key-encryption key.
    encrypted_private_jwk = models.TextField(editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Set at retirement: the last moment a token this key signed can still be valid (see
    # services.retention_seconds). Until then the key stays in the JWKS; after it, it is purged.
    retain_until = models.DateTimeField(null=True, blank=True)
    # When the row last changed (workers reload on KeyRingLock.version, not on this).
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        # Viewing keys is harmless; rotating or revoking them is not, so it needs its own permission.
        permissions = [("rotate_signingkey", "Can rotate and revoke signing keys")]
        constraints = [
            # Exactly one active key per algorithm, enforced by the database as well as by the lock.
            models.UniqueConstraint(
                fields=["alg"], condition=models.Q(state="active"), name="keys_one_active_key_per_alg"
            ),
        ]

    def __str__(self):
        return f"{self.kid} ({self.state})"


class KeyRingLock(models.Model):
    """A single row every rotation locks, so concurrent rotations run one after the other."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "key ring version"

    def __str__(self):
        return f"key ring v{self.version}"
