"""System checks for the key ring: configuration first, then (with --database) the stored keys."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.db import DatabaseError

from . import kek

KEY_SIZES = (2048, 3072, 4096)


@register(Tags.security, deploy=True)
def check_development_key_encryption_key(app_configs, **kwargs):
    """The development default is public: only for DEBUG, a deployment must generate its own."""
    if kek.decode(settings.SIGNET_KEY_ENCRYPTION_KEY) == kek.DEVELOPMENT_BYTES:
        return [
            Warning(
                "SIGNET_KEY_ENCRYPTION_KEY is the development default.",
                hint=f"Generate one with: {kek.GENERATE_COMMAND}",
                id="keys.W001",
            )
        ]
    return []


@register(Tags.security)
def check_key_encryption_keys(app_configs, **kwargs):
    """A key-encryption key a person chose can be guessed offline from a database dump, and with it
    every private key in it. Settings refuse such a current key at start-up (this check covers values
    set some other way); a fallback may still be one, to decrypt the rows it encrypted, for a while."""
    messages = []
    problem = kek.problem(settings.SIGNET_KEY_ENCRYPTION_KEY)
    if problem:
        messages.append(Error(problem, id="keys.E002"))
    legacy = [v for v in settings.SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS if v and kek.decode(v) is None]
    if legacy:
        messages.append(
            Warning(
                f"SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS holds {len(legacy)} value(s) that are not 32 random "
                "bytes (base64): a database dump's private keys under them can be guessed offline.",
                hint="Run `manage.py keys reencrypt` to move every key to SIGNET_KEY_ENCRYPTION_KEY, then "
                "remove them from the fallbacks.",
                id="keys.W010",
            )
        )
    return messages


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
    """Exactly one active key per algorithm (or no RS256 one yet: `keys ensure` or the first maintenance
    step makes one), and every stored private key opens with a configured key-encryption key. Only run
    with --database."""
    if not databases:
        return []
    from . import crypto
    from .models import SigningKey

    try:
        keys = list(
            SigningKey.objects.exclude(state=SigningKey.State.REVOKED).only(
                "kid", "alg", "state", "public_jwk", "encrypted_private_jwk"
            )
        )
    except DatabaseError:
        return []  # not migrated yet: migrate's own checks say so
    messages = []
    actives = [k.alg for k in keys if k.state == SigningKey.State.ACTIVE]
    for alg in sorted(set(actives)):
        if (active := actives.count(alg)) > 1:
            messages.append(
                Error(f"{active} {alg} signing keys are active; exactly one may be.", id="keys.E005")
            )
    if "RS256" not in actives:
        messages.append(
            Warning(
                "No active signing key yet: nothing can be signed until one exists.",
                hint="Run `manage.py keys ensure` (the container runs `keys rotate --if-due` at start); a "
                "running provider also makes one in the background after the first request.",
                id="keys.W006",
            )
        )
    unreadable, mismatched, on_fallback, legacy = [], [], [], []
    for key in keys:
        try:
            opened = crypto.open_private_key(
                key.encrypted_private_jwk, kid=key.kid, public_jwk=key.public_jwk
            )
        except crypto.KeyMismatch:
            mismatched.append(key.kid)
            continue
        except crypto.KeyDecryptionError:
            unreadable.append(key.kid)
            continue
        if opened.legacy:
            legacy.append(key.kid)
        elif not opened.current:
            on_fallback.append(key.kid)
    if unreadable:
        messages.append(
            Error(
                f"{len(unreadable)} signing key(s) cannot be decrypted with SIGNET_KEY_ENCRYPTION_KEY or its "
                f"fallbacks: {', '.join(unreadable)}.",
                hint="Put the previous key-encryption key into SIGNET_KEY_ENCRYPTION_KEY_FALLBACKS; a row "
                "nobody can open was not written by Signet: revoke it (`manage.py keys revoke KID`).",
                id="keys.E007",
            )
        )
    if mismatched:
        messages.append(
            Error(
                f"{len(mismatched)} signing key(s) hold a private key that is not their public key's: "
                f"{', '.join(mismatched)}. They are neither published nor used.",
                hint="The rows were altered in the database: revoke them (`manage.py keys revoke KID`).",
                id="keys.E011",
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
    if legacy:
        messages.append(
            Warning(
                f"{len(legacy)} signing key(s) are stored in the format before the key-encryption key was "
                "32 random bytes and bound to the key's kid.",
                hint="Run `manage.py keys reencrypt`, then drop any passphrase from the fallbacks.",
                id="keys.W012",
            )
        )
    return messages
