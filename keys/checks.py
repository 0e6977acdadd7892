"""System checks for the key ring: configuration first, then (with --database) the stored keys."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

DEBUG_KEK_PREFIX = "insecure-development-"
MIN_KEK_LENGTH = 32
KEY_SIZES = (2048, 3072, 4096)


@register(Tags.security, deploy=True)
def check_development_key_encryption_key(app_configs, **kwargs):
    """The derived development default is only for DEBUG: a deployment must set its own."""
    if settings.SIGNET_KEY_ENCRYPTION_KEY.startswith(DEBUG_KEK_PREFIX):
        return [
            Warning(
                "SIGNET_KEY_ENCRYPTION_KEY is the development default.",
                hint="Set SIGNET_KEY_ENCRYPTION_KEY to a long random secret (e.g. 48 random bytes, base64).",
                id="keys.W001",
            )
        ]
    return []


@register(Tags.security)
def check_key_encryption_key_length(app_configs, **kwargs):
    """A short key-encryption key can be guessed, and with it every private key in a database dump."""
    errors = []
    named = [("SIGNET_KEY_ENCRYPTION_KEY", settings.SIGNET_KEY_ENCRYPTION_KEY)] + [
        ("SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS", s) for s in settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS
    ]
    for name, secret in named:
        if len(secret) < MIN_KEK_LENGTH:
            errors.append(
                Error(f"{name} must hold secrets of at least {MIN_KEK_LENGTH} characters.", id="keys.E002")
            )
    return errors


@register()
def check_key_timings(app_configs, **kwargs):
    errors = []
    if settings.SIGNET_KEY_PREPUBLISH_SECONDS < settings.SIGNET_JWKS_MAX_AGE:
        errors.append(
            Error(
                "SIGNET_KEY_PREPUBLISH_SECONDS is shorter than SIGNET_JWKS_MAX_AGE: a relying party could "
                "still hold a JWKS without the new key when it starts signing.",
                hint="Raise SIGNET_KEY_PREPUBLISH_SECONDS or lower SIGNET_JWKS_MAX_AGE.",
                id="keys.E003",
            )
        )
    if settings.SIGNET_KEY_SIZE not in KEY_SIZES:
        errors.append(Error("SIGNET_KEY_SIZE must be 2048, 3072 or 4096.", id="keys.E004"))
    if settings.SIGNET_KEY_ROTATION_DAYS < 1:
        errors.append(Error("SIGNET_KEY_ROTATION_DAYS must be at least 1.", id="keys.E008"))
    if settings.SIGNET_KEY_RELOAD_SECONDS < 0 or settings.SIGNET_KEY_RETENTION_LEEWAY_SECONDS < 0:
        errors.append(
            Error(
                "SIGNET_KEY_RELOAD_SECONDS and SIGNET_KEY_RETENTION_LEEWAY_SECONDS cannot be negative.",
                id="keys.E009",
            )
        )
    return errors


@register(Tags.database)
def check_stored_keys(app_configs, databases=None, **kwargs):
    """Exactly one active key (or none yet: one is created on first use), and every stored private
    key opens with a configured key-encryption key. Only run with --database."""
    if not databases:
        return []
    from . import crypto
    from .models import SigningKey

    try:
        keys = list(
            SigningKey.objects.exclude(state=SigningKey.State.REVOKED).only(
                "kid", "state", "encrypted_private_jwk"
            )
        )
    except DatabaseError:
        return []  # not migrated yet: migrate's own checks say so
    messages = []
    active = sum(1 for k in keys if k.state == SigningKey.State.ACTIVE)
    if active > 1:
        messages.append(Error(f"{active} signing keys are active; exactly one may be.", id="keys.E005"))
    if active == 0:
        messages.append(Warning("No active signing key yet: one is created on first use.", id="keys.W006"))
    ids = crypto.configured_kek_ids()
    unreadable, on_fallback = [], []
    for key in keys:
        try:
            kek_id = crypto.kek_id_of(key.encrypted_private_jwk)
        except crypto.KeyDecryptionError:
            kek_id = None
        if kek_id not in ids:
            unreadable.append(key.kid)
        elif kek_id != ids[0]:
            on_fallback.append(key.kid)
    if unreadable:
        messages.append(
            Error(
                f"{len(unreadable)} signing key(s) cannot be decrypted with SIGNET_KEY_ENCRYPTION_KEY or its "
                f"fallbacks: {', '.join(unreadable)}.",
                hint="Put the previous key-encryption key into SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS.",
                id="keys.E007",
            )
        )
    if on_fallback:
        messages.append(
            Warning(
                f"{len(on_fallback)} signing key(s) are encrypted under a fallback key-encryption key.",
                hint="Run `manage.py keys reencrypt`, then drop the fallback.",
                id="keys.W008",
            )
        )
    return messages
