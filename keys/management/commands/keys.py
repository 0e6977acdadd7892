from provider.cli import OperatorCommand

from ... import services
from ...models import SigningKey
from ...selectors import reset_cache


def _row(key):
    return {
        "kid": key.kid,
        "state": key.state,
        "alg": key.alg,
        "size": key.size,
        "created_at": key.created_at,
        "activated_at": key.activated_at,
        "retired_at": key.retired_at,
        "revoked_at": key.revoked_at,
    }


class Command(OperatorCommand):
    help = "List, rotate and revoke signing keys. Private key material is never printed."

    def add_actions(self, subparsers):
        subparsers.add_parser("list", help="list keys with state, kid and dates")
        rotate = subparsers.add_parser("rotate", help="promote the next key, retire the active one")
        rotate.add_argument("--if-due", action="store_true", help="only when the rotation schedule says so")
        revoke = subparsers.add_parser("revoke", help="withdraw a key from the JWKS at once")
        revoke.add_argument("kid")
        subparsers.add_parser("ensure", help="create an active and a next key if missing")
        subparsers.add_parser("reencrypt", help="re-encrypt private keys under the current encryption key")
        subparsers.add_parser("purge", help="delete retired keys whose tokens have all expired")

    def do_list(self, **options):
        keys = list(SigningKey.objects.order_by("-created_at"))
        lines = [
            f"{k.kid}  {k.state:8} {k.alg} {k.size}  created {k.created_at:%Y-%m-%d %H:%M}" for k in keys
        ]
        self.emit([_row(k) for k in keys], "\n".join(lines) or "no keys")

    def do_rotate(self, if_due=False, **options):
        result = services.key_rotate(if_due=if_due)
        reset_cache()
        if not result.rotated:
            self.emit({"rotated": False, "active": result.active.kid}, "not due: nothing rotated")
            return
        retired = result.retired.kid if result.retired else None
        self.emit(
            {"rotated": True, "active": result.active.kid, "retired": retired},
            f"rotated: {result.active.kid} is active" + (f", {retired} retired" if retired else ""),
        )

    def do_revoke(self, kid, **options):
        if not SigningKey.objects.filter(kid=kid).exists():
            self.fail(f"no signing key with kid {kid!r}")
        key = services.key_revoke(kid=kid)
        reset_cache()
        self.emit(_row(key), f"revoked {kid}")

    def do_ensure(self, **options):
        key = services.key_ensure_active()
        reset_cache()
        self.emit(_row(key), f"active key: {key.kid}")

    def do_reencrypt(self, **options):
        count = services.key_reencrypt_all()
        self.emit({"reencrypted": count}, f"re-encrypted {count} key(s)")

    def do_purge(self, **options):
        count = services.key_purge_expired()
        reset_cache()
        self.emit({"purged": count}, f"purged {count} key(s)")
