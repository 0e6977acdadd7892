from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

DEBUG_KEK_PREFIX = "insecure-development-"


@register(Tags.security, deploy=True)
def check_key_encryption_key(app_configs, **kwargs):
    if settings.SIGNET_KEY_ENCRYPTION_KEY.startswith(DEBUG_KEK_PREFIX):
        return [
            Warning(
                "SIGNET_KEY_ENCRYPTION_KEY is the development default.",
                hint="Set SIGNET_KEY_ENCRYPTION_KEY to a long random secret (e.g. 48 random bytes, base64).",
                id="signet.W001",
            )
        ]
    if len(settings.SIGNET_KEY_ENCRYPTION_KEY) < 32:
        return [Error("SIGNET_KEY_ENCRYPTION_KEY must be at least 32 characters.", id="signet.E002")]
    return []


@register()
def check_key_timings(app_configs, **kwargs):
    errors = []
    if settings.SIGNET_KEY_PREPUBLISH_SECONDS < settings.SIGNET_JWKS_MAX_AGE:
        errors.append(
            Error(
                "SIGNET_KEY_PREPUBLISH_SECONDS is shorter than SIGNET_JWKS_MAX_AGE: a relying party could "
                "still hold a JWKS without the new key when it starts signing.",
                id="signet.E003",
            )
        )
    if settings.SIGNET_KEY_SIZE not in (2048, 3072, 4096):
        errors.append(Error("SIGNET_KEY_SIZE must be 2048, 3072 or 4096.", id="signet.E004"))
    return errors


@register(Tags.database)
def check_active_key(app_configs, databases=None, **kwargs):
    """An active key exists, or is created on first use (only checked with --database)."""
    if not databases:
        return []
    from .models import SigningKey

    try:
        active = SigningKey.objects.filter(state=SigningKey.State.ACTIVE).count()
    except DatabaseError:
        return []
    if active > 1:
        return [Error(f"{active} signing keys are active; exactly one may be.", id="signet.E005")]
    if active == 0:
        return [Warning("No active signing key yet: one is created on first use.", id="signet.W006")]
    return []
