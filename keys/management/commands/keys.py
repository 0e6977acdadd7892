from django.conf import settings

from provider.cli import OperatorCommand

from ... import crypto, services
from ...models import SigningKey
from ...selectors import invalidate


def _row(key):
    return {
        "kid": key.kid,
        "state": key.state,
        "alg": key.alg,
        "size": key.size,
        "created_at": key.created_at,
        "activated_at": key.activated_at,
        "retired_at": key.retired_at,
        "retain_until": key.retain_until,
        "revoked_at": key.revoked_at,
    }


class Command(OperatorCommand):
    help = "List, rotate and revoke signing keys. Private key material is never printed."

    def add_actions(self, subparsers):
        subparsers.add_parser("list", help="list keys with state, kid and dates")
        rotate = subparsers.add_parser("rotate", help="promote the next key, retire the active one")
        rotate.add_argument(
            "--if-due", action="store_true", help="only when the rotation schedule says so (for cron)"
        )
        show = subparsers.add_parser("show", help="one key's state, kid and dates")
        show.add_argument("kid")
        revoke = subparsers.add_parser("revoke", help="withdraw a key from the JWKS at once")
        revoke.add_argument("kid")
        subparsers.add_parser("ensure", help="create an active and a next key if missing")
        subparsers.add_parser(
            "reencrypt",
            help="re-encrypt every private key under SIGNET_KEY_ENCRYPTION_KEY, in the current format "
            "(after changing it, or upgrading from a passphrase); then drop the fallbacks",
        )
        subparsers.add_parser("purge", help="delete retired keys whose tokens have all expired")

    def do_list(self, **options):
        keys = list(SigningKey.objects.order_by("-created_at"))
        lines = [
            f"{k.kid}  {k.state:8} {k.alg} {k.size}  created {k.created_at:%Y-%m-%d %H:%M}" for k in keys
        ]
        self.emit([_row(k) for k in keys], "\n".join(lines) or "no keys")

    def do_rotate(self, if_due=False, **options):
        # --if-due is the maintenance step (keys.maintenance) run by hand, at container start or from
        # cron: ensure keys exist, rotate if due, purge.
        result = services.key_maintain() if if_due else services.key_rotate()
        invalidate()
        if not result.rotated:
            self.emit({"rotated": False, "active": result.active.kid}, "not due: nothing rotated")
            return
        retired = result.retired.kid if result.retired else None
        data = {"rotated": True, "active": result.active.kid, "retired": retired}
        text = f"rotated: {result.active.kid} is active" + (f", {retired} retired" if retired else "")
        if (
            result.prepublished_seconds is not None
            and result.prepublished_seconds < settings.SIGNET_JWKS_MAX_AGE
        ):
            # Relying parties holding a cached JWKS without the new kid must refetch to verify its tokens.
            data["warning"] = "new key was published for less than SIGNET_JWKS_MAX_AGE"
            self.stderr.write(
                f"warning: {result.active.kid} was published {result.prepublished_seconds:.0f}s before "
                f"signing, less than SIGNET_JWKS_MAX_AGE ({settings.SIGNET_JWKS_MAX_AGE}s): relying parties "
                "with a cached JWKS must refetch it to verify new tokens."
            )
        self.emit(data, text)

    def do_show(self, kid, **options):
        key = SigningKey.objects.filter(kid=kid).first()
        if key is None:
            self.fail(f"no signing key with kid {kid!r}")
        row = _row(key)
        self.emit(row, "\n".join(f"{name}: {value}" for name, value in row.items()))

    def do_revoke(self, kid, **options):
        try:
            key = services.key_revoke(kid=kid)
        except services.KeyNotFound:
            self.fail(f"no signing key with kid {kid!r}")
        invalidate()
        self.emit(_row(key), f"revoked {kid}")

    def do_ensure(self, **options):
        key = services.key_ensure_active()
        invalidate()
        self.emit(_row(key), f"active key: {key.kid}")

    def do_reencrypt(self, **options):
        try:
            count = services.key_reencrypt_all()
        except crypto.KeyDecryptionError as e:
            self.fail(f"{e}: nothing re-encrypted")
        invalidate()
        self.emit({"reencrypted": count}, f"re-encrypted {count} key(s)")

    def do_purge(self, **options):
        count = services.key_purge_expired()
        invalidate()
        self.emit({"purged": count}, f"purged {count} key(s)")
