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


def _add_alg(parser, help):
    parser.add_argument("--alg", choices=crypto.SUPPORTED_ALGS, default="RS256", help=help)


def _rotation_row(result):
    retired = result.retired.kid if result.retired else None
    if not result.rotated:
        return {"rotated": False, "active": result.active.kid}, "not due: nothing rotated"
    text = f"rotated: {result.active.kid} is active" + (f", {retired} retired" if retired else "")
    return {"rotated": True, "active": result.active.kid, "retired": retired}, text


class Command(OperatorCommand):
    help = "List, rotate and revoke signing keys. Private key material is never printed."

    def add_actions(self, subparsers):
        subparsers.add_parser("list", help="list keys with state, kid and dates")
        rotate = subparsers.add_parser("rotate", help="promote the next key, retire the active one")
        rotate.add_argument(
            "--if-due",
            action="store_true",
            help="every configured algorithm whose rotation schedule says so (for cron)",
        )
        _add_alg(rotate, "the algorithm whose key to rotate (with --if-due: whose result to print)")
        show = subparsers.add_parser("show", help="one key's state, kid and dates")
        show.add_argument("kid")
        revoke = subparsers.add_parser("revoke", help="withdraw a key from the JWKS at once")
        revoke.add_argument("kid")
        ensure = subparsers.add_parser(
            "ensure", help="create an active and a next key for every configured algorithm if missing"
        )
        _add_alg(ensure, "the algorithm whose active key to print")
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

    def _require_configured(self, alg):
        if alg not in services.configured_algs():
            self.fail(f"{alg} is not in SIGNET_SIGNING_ALGS ({', '.join(services.configured_algs())})")

    def do_rotate(self, if_due=False, alg="RS256", **options):
        self._require_configured(alg)
        if if_due:
            # The maintenance step (keys.maintenance) run by hand, at container start or from cron:
            # for every configured algorithm, ensure its keys exist and rotate it if due; then purge.
            rotations = services.key_maintain_all()
            invalidate()
            self._emit_rotations(rotations, alg)
            return
        result = services.key_rotate(alg=alg, actor=self.actor)
        invalidate()
        data, text = _rotation_row(result)
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

    def _emit_rotations(self, rotations, alg):
        """The result for `alg` as before; with more than one algorithm configured, every one's too."""
        data, text = _rotation_row(rotations[alg])
        if len(rotations) > 1:
            rows = {name: _rotation_row(result) for name, result in rotations.items()}
            data = {**data, "algorithms": {name: row for name, (row, _text) in rows.items()}}
            text = "\n".join(f"{name}: {line}" for name, (_row, line) in rows.items())
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

    def do_ensure(self, alg="RS256", **options):
        self._require_configured(alg)
        key = services.key_ensure_active(alg=alg)
        invalidate()
        actives = SigningKey.objects.filter(state=SigningKey.State.ACTIVE, alg__in=services.configured_algs())
        if len(services.configured_algs()) == 1:
            text = f"active key: {key.kid}"
        else:
            text = "\n".join(f"active {k.alg} key: {k.kid}" for k in actives.order_by("alg"))
        self.emit(_row(key), text)

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
