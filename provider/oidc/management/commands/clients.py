import json

from django.core.exceptions import ValidationError
from django.db import transaction

from provider.cli import OperatorCommand

from ...models import ASSERTION_ALGORITHMS, PRIVATE_KEY_JWT, TOKEN_SIGNING_ALGORITHMS, Client
from ...registration import initial_access_token_create
from ...services import (
    GRANTS,
    client_create,
    client_regenerate_secret,
    client_set_active,
    client_set_allowed_groups,
    client_update,
)


def _row(client):
    return {
        "client_id": client.client_id,
        "name": client.name,
        "type": client.client_type,
        "grant": client.authorization_grant_type,
        "redirect_uris": client.redirect_uris.split(),
        "post_logout_redirect_uris": client.post_logout_redirect_uris.split(),
        "scopes": client.scope_list,
        "audiences": client.audience_list,
        "skip_consent": client.skip_authorization,
        "access_token_lifetime": client.access_token_lifetime,
        "id_token_lifetime": client.id_token_lifetime,
        "refresh_token_lifetime": client.refresh_token_lifetime,
        "identity_claims": client.identity_claims_in_access_token,
        "require_mfa": client.require_mfa,
        "backchannel_logout_uri": client.backchannel_logout_uri,
        "backchannel_logout_session_required": client.backchannel_logout_session_required,
        "groups_claim": client.groups_in_access_token,
        "allowed_groups": sorted(client.allowed_groups.values_list("name", flat=True)),
        "auth_method": client.token_endpoint_auth_method
        or ("none" if client.client_type == Client.CLIENT_PUBLIC else "client_secret"),
        "signing_alg": client.token_endpoint_auth_signing_alg or None,
        "id_token_signing_alg": client.id_token_signed_response_alg,
        "jwks_uri": client.jwks_uri,
        "jwks_kids": [key.get("kid") for key in (client.jwks or {}).get("keys", [])],
        "active": client.is_active,
    }


# --auth-method: a secret (or none, for a public client), or a key (OIDC Core 9, RFC 7523).
AUTH_METHODS = {"client-secret": "", "private-key-jwt": PRIVATE_KEY_JWT}
MAX_JWKS_FILE_BYTES = 1024 * 1024


def _add_key_options(parser):
    parser.add_argument(
        "--auth-method",
        choices=list(AUTH_METHODS),
        help="how the client authenticates at /token: its secret, or a JWT signed with its key",
    )
    parser.add_argument("--jwks-file", metavar="PATH", help="the client's public keys, a JWK Set in a file")
    parser.add_argument("--jwks-uri", metavar="URL", help="or an https URL serving the client's JWK Set")
    parser.add_argument(
        "--signing-alg",
        choices=[*ASSERTION_ALGORITHMS, "any"],
        help="accept only assertions signed with this algorithm (any: whatever the key allows)",
    )
    parser.add_argument(
        "--id-token-signing-alg",
        choices=TOKEN_SIGNING_ALGORITHMS,
        help="sign the client's ID, access and logout tokens with it (one of SIGNET_SIGNING_ALGS)",
    )


def _read_jwks(path):
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_JWKS_FILE_BYTES + 1)
    except OSError as e:
        raise ValidationError({"jwks": f"cannot read {path}: {e.strerror}"}) from None
    if len(raw) > MAX_JWKS_FILE_BYTES:
        raise ValidationError({"jwks": f"{path} is larger than {MAX_JWKS_FILE_BYTES} bytes"})
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ValidationError({"jwks": f"{path} is not JSON"}) from None


def _key_settings(o, *, updating=False):
    """client_create / client_update keywords from the key options given (a JWKS replaces a JWKS URI)."""
    found = {}
    if o["jwks_file"] is not None and o["jwks_uri"] is not None:
        raise ValidationError({"jwks_uri": "give either --jwks-file or --jwks-uri"})
    if o["auth_method"] is not None:
        found["auth_method"] = AUTH_METHODS[o["auth_method"]]
    if o["jwks_file"] is not None:
        found["jwks"] = _read_jwks(o["jwks_file"])
        if updating:
            found["jwks_uri"] = ""
    if o["jwks_uri"] is not None:
        found["jwks_uri"] = o["jwks_uri"]
        if updating:
            found["jwks"] = None
    if o["signing_alg"] is not None:
        found["signing_alg"] = "" if o["signing_alg"] == "any" else o["signing_alg"]
    if o["id_token_signing_alg"] is not None:
        found["id_token_signing_alg"] = o["id_token_signing_alg"]
    return found


def _lifetime(value):
    """Seconds, or "default" (None: the SIGNET_*_LIFETIME setting applies)."""
    if value == "default":
        return None
    try:
        return int(value)
    except ValueError:
        raise ValidationError(f"{value!r} is neither a number of seconds nor 'default'") from None


def _validation_message(error):
    messages = error.message_dict.items() if hasattr(error, "message_dict") else [("error", error.messages)]
    return "; ".join(f"{field}: {m}" for field, msgs in messages for m in msgs)


# The list settings `clients update` edits: option stem, keyword of client_update, what one item is.
LIST_OPTIONS = (
    ("redirect-uri", "redirect_uris", "URI"),
    ("post-logout-redirect-uri", "post_logout_redirect_uris", "URI"),
    ("audience", "audiences", "URI"),
)


class Command(OperatorCommand):
    help = (
        "Register, list, update, disable, enable and delete OAuth/OIDC clients, and rotate their "
        "secrets. A client secret is printed once, at creation or rotation; only its hash is stored. "
        "Every change is an audit event with the operator (--actor, else the OS user) as its actor."
    )

    def add_actions(self, subparsers):
        create = subparsers.add_parser("create", help="register a client")
        create.add_argument("--name", required=True)
        create.add_argument("--type", required=True, choices=["confidential", "public"])
        create.add_argument(
            "--grant",
            required=True,
            choices=list(GRANTS),
            help="device-code: a device without a browser; its user approves on /device (RFC 8628)",
        )
        create.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
        create.add_argument(
            "--post-logout-redirect-uri", action="append", default=[], dest="post_logout_redirect_uris"
        )
        create.add_argument(
            "--scopes",
            help='space-separated, e.g. "openid profile email" (default: those four for sign-in '
            "grants, none for client-credentials)",
        )
        create.add_argument("--audience", action="append", default=[], dest="audiences")
        create.add_argument("--client-id", help="choose the client id instead of generating one")
        create.add_argument(
            "--secret-stdin", action="store_true", help="read the secret (32+ characters) from stdin"
        )
        create.add_argument("--skip-consent", action="store_true", help="first-party: no consent page")
        create.add_argument(
            "--backchannel-logout-uri",
            default="",
            metavar="URI",
            help="receives a logout token when a sign-in the client took part in ends (https)",
        )
        create.add_argument(
            "--backchannel-logout-session-required",
            action="store_true",
            help="the client needs the sid in logout tokens (Signet always sends it)",
        )
        create.add_argument(
            "--require-mfa", action="store_true", help="its users sign in with a second factor (acr 2)"
        )
        for name in ("access-token", "id-token"):
            create.add_argument(
                f"--{name}-lifetime", type=int, metavar="SECONDS", help="override the default"
            )
        create.add_argument(
            "--refresh-token-lifetime",
            type=int,
            metavar="SECONDS",
            help="idle lifetime; override the default",
        )
        create.add_argument(
            "--identity-claims",
            action="store_true",
            help="add email, given_name, family_name to access tokens when those scopes are granted",
        )
        create.add_argument(
            "--groups-in-access-token",
            action="store_true",
            dest="groups_claim",
            help="add the user's groups to access tokens when the groups scope is granted",
        )
        create.add_argument(
            "--allowed-group",
            action="append",
            default=[],
            dest="allowed_groups",
            metavar="NAME",
            help="repeatable; only members of these groups may use the client (default: every user)",
        )
        _add_key_options(create)
        subparsers.add_parser("list", help="list clients (secrets are never shown)")
        show = subparsers.add_parser("show", help="one client's settings (never its secret)")
        show.add_argument("client_id")
        self.add_update(subparsers)
        for action, text in (
            ("disable", "disable a client: no more sign-ins or tokens, its tokens inactive at once"),
            ("enable", "enable a disabled client"),
            ("rotate-secret", "give a confidential client a new secret, printed once; the old one stops"),
            ("delete", "delete a client and its tokens"),
        ):
            subparsers.add_parser(action, help=text).add_argument("client_id")
        token = subparsers.add_parser(
            "registration-token",
            help="mint an initial access token for /register (SIGNET_REGISTRATION=token), printed once",
        )
        token.add_argument(
            "--expires-in", type=int, default=86400, metavar="SECONDS", help="default: 86400 (a day)"
        )

    def add_update(self, subparsers):
        update = subparsers.add_parser(
            "update",
            help="change a client's settings (only those given)",
            description="Change a client's settings; only the options given change. The grant, type "
            "and client id stay as registered.",
        )
        update.add_argument("client_id")
        update.add_argument("--name", help="the name shown on the consent page")
        for stem, dest, item in LIST_OPTIONS:
            update.add_argument(
                f"--{stem}",
                action="append",
                dest=f"set_{dest}",
                metavar=item,
                help="repeatable; replaces the list",
            )
            update.add_argument(
                f"--add-{stem}", action="append", dest=f"add_{dest}", metavar=item, help="repeatable"
            )
            update.add_argument(
                f"--remove-{stem}", action="append", dest=f"remove_{dest}", metavar=item, help="repeatable"
            )
        update.add_argument("--scopes", help='space-separated; replaces the allowed scopes ("" for none)')
        update.add_argument(
            "--skip-consent", action="store_true", default=None, help="first-party: no consent page"
        )
        update.add_argument(
            "--no-skip-consent", action="store_false", dest="skip_consent", help="users consent again"
        )
        update.add_argument(
            "--identity-claims",
            action="store_true",
            default=None,
            help="add email, given_name, family_name to access tokens when those scopes are granted",
        )
        update.add_argument(
            "--no-identity-claims", action="store_false", dest="identity_claims", help="stop adding them"
        )
        update.add_argument(
            "--require-mfa", action="store_true", default=None, help="its users sign in with a second factor"
        )
        update.add_argument("--no-require-mfa", action="store_false", dest="require_mfa")
        update.add_argument(
            "--backchannel-logout-uri", metavar="URI", help='receives logout tokens ("" for none)'
        )
        update.add_argument(
            "--backchannel-logout-session-required",
            action="store_true",
            default=None,
            help="the client needs the sid in logout tokens",
        )
        update.add_argument(
            "--no-backchannel-logout-session-required",
            action="store_false",
            dest="backchannel_logout_session_required",
        )
        update.add_argument(
            "--groups-in-access-token",
            action="store_true",
            default=None,
            dest="groups_claim",
            help="add the user's groups to access tokens when the groups scope is granted",
        )
        update.add_argument(
            "--no-groups-in-access-token", action="store_false", dest="groups_claim", help="stop adding them"
        )
        update.add_argument(
            "--allowed-group",
            action="append",
            dest="allowed_groups",
            metavar="NAME",
            help="repeatable; replaces the list: only members of these groups may use the client",
        )
        update.add_argument(
            "--no-allowed-groups",
            action="store_const",
            const=[],
            dest="allowed_groups",
            help="every user may use the client again",
        )
        _add_key_options(update)
        for name in ("access-token", "id-token", "refresh-token"):
            update.add_argument(
                f"--{name}-lifetime", metavar="SECONDS", help="seconds, or 'default' for the setting"
            )

    # --- actions -----------------------------------------------------------------------------
    def client(self, client_id):
        client = Client.objects.filter(client_id=client_id).first()
        if client is None:
            self.fail(f"no client with id {client_id!r}")
        return client

    def do_create(self, **o):
        secret = self.read_stdin_secret("secret") if o["secret_stdin"] else None
        try:
            client, plaintext = client_create(
                name=o["name"],
                client_type=o["type"],
                grant=o["grant"],
                redirect_uris=o["redirect_uris"],
                post_logout_redirect_uris=o["post_logout_redirect_uris"],
                scopes=o["scopes"].split() if o["scopes"] is not None else None,
                audiences=o["audiences"],
                client_id=o["client_id"],
                secret=secret,
                skip_consent=o["skip_consent"],
                backchannel_logout_uri=o["backchannel_logout_uri"],
                backchannel_logout_session_required=o["backchannel_logout_session_required"],
                access_token_lifetime=o["access_token_lifetime"],
                id_token_lifetime=o["id_token_lifetime"],
                refresh_token_lifetime=o["refresh_token_lifetime"],
                identity_claims=o["identity_claims"],
                **_key_settings(o),
                groups_claim=o["groups_claim"],
                allowed_groups=o["allowed_groups"],
            )
        except ValidationError as e:
            self.fail(_validation_message(e))
        if o["require_mfa"]:
            client.require_mfa = True
            client.save(update_fields=["require_mfa"])
        self.audit("client.created", client_id=client.client_id, name=client.name)
        row = _row(client)
        text = f"client_id: {client.client_id}"
        if plaintext and not secret:
            row["client_secret"] = plaintext
            text += f"\nclient_secret: {plaintext}\n(the secret is shown only now; store it safely)"
        self.emit(row, text)

    def do_list(self, **o):
        clients = list(Client.objects.order_by("name"))
        table = [
            (
                c.client_id,
                c.client_type,
                c.authorization_grant_type,
                f"{'' if c.is_active else '(disabled) '}{c.name}",
            )
            for c in clients
        ]
        self.emit([_row(c) for c in clients], "\n".join(_aligned(table)) or "no clients")

    def do_show(self, client_id, **o):
        row = _row(self.client(client_id))
        self.emit(row, "\n".join(f"{k}: {_text(v)}" for k, v in row.items()))

    def do_update(self, client_id, **o):
        client = self.client(client_id)
        changes = {}
        if o["name"] is not None:
            changes["name"] = o["name"]
        for _stem, dest, _item in LIST_OPTIONS:
            current = getattr(client, dest).split()
            items = o[f"set_{dest}"] if o[f"set_{dest}"] is not None else current
            items = [*items, *(u for u in o[f"add_{dest}"] or () if u not in items)]
            missing = [u for u in o[f"remove_{dest}"] or () if u not in items]
            if missing:
                self.fail(f"{dest}: {', '.join(missing)} not registered for {client_id}")
            items = [u for u in items if u not in (o[f"remove_{dest}"] or ())]
            if items != current:
                changes[dest] = items
        if o["scopes"] is not None:
            changes["scopes"] = o["scopes"].split()
        for name in ("backchannel_logout_uri", "backchannel_logout_session_required"):
            if o[name] is not None:
                changes[name] = o[name]
        for name in ("skip_consent", "identity_claims", "groups_claim"):
            if o[name] is not None:
                changes[name] = o[name]
        try:
            # One change or none: an unknown group must not leave the other settings changed.
            with transaction.atomic():
                for name in ("access_token_lifetime", "id_token_lifetime", "refresh_token_lifetime"):
                    if o[name] is not None:
                        changes[name] = _lifetime(o[name])
                changes.update(_key_settings(o, updating=True))
                changed = client_update(client=client, **changes)
                # The MFA policy (accounts/mfa_policy.py) is not one of client_update's settings.
                if o["require_mfa"] is not None and client.require_mfa != o["require_mfa"]:
                    client.require_mfa = o["require_mfa"]
                    client.save(update_fields=["require_mfa", "updated"])
                    changed.append("require_mfa")
                if o["allowed_groups"] is not None and client_set_allowed_groups(
                    client=client, names=o["allowed_groups"]
                ):
                    changed.append("allowed_groups")
        except ValidationError as e:
            self.fail(_validation_message(e))
        if changed:
            self.audit("client.updated", client_id=client.client_id, fields=changed)
        row = _row(client)
        self.emit(
            {**row, "changed": changed}, f"updated {client_id}: {', '.join(changed) or 'nothing changed'}"
        )

    def do_disable(self, client_id, **o):
        self.set_active(client_id, False)

    def do_enable(self, client_id, **o):
        self.set_active(client_id, True)

    def set_active(self, client_id, active):
        client = self.client(client_id)
        changed = client_set_active(client=client, active=active)
        state = "enabled" if active else "disabled"
        if changed:
            self.audit(f"client.{state}", client_id=client.client_id)
        self.emit(
            {"client_id": client_id, "active": active, "changed": changed},
            f"{state} {client_id}" if changed else f"{client_id} was already {state}",
        )

    def do_rotate_secret(self, client_id, **o):
        client = self.client(client_id)
        try:
            secret = client_regenerate_secret(client=client)
        except ValidationError as e:
            self.fail(_validation_message(e))
        self.audit("client.secret_regenerated", client_id=client.client_id)
        self.emit(
            {"client_id": client_id, "client_secret": secret},
            f"client_id: {client_id}\nclient_secret: {secret}\n"
            "(the secret is shown only now; the old one no longer works)",
        )

    def do_registration_token(self, expires_in, **o):
        try:
            row, token = initial_access_token_create(expires_in=expires_in, created_by=self.actor)
        except ValidationError as e:
            self.fail(_validation_message(e))
        self.audit("registration_token.created", token_id=row.pk, expires_at=row.expires_at.isoformat())
        self.emit(
            {"initial_access_token": token, "expires_at": row.expires_at.isoformat(), "single_use": True},
            f"initial_access_token: {token}\nexpires_at: {row.expires_at.isoformat()}\n"
            "(shown only now; it registers one client at /register, as a Bearer token)",
        )

    def do_delete(self, client_id, **o):
        client = self.client(client_id)
        self.audit("client.deleted", client_id=client.client_id, name=client.name)
        client.delete()
        self.emit({"deleted": client_id}, f"deleted {client_id}")


def _aligned(table):
    """Rows of text columns, each column as wide as its widest value: client ids and grant names
    (the device grant's URN is 44 characters) vary too much for fixed widths. The last is not padded."""
    if not table:
        return []
    widths = [max(len(cell) for cell in column) for column in zip(*table, strict=True)]
    widths[-1] = 0  # no trailing spaces after the name
    return ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in table]


def _text(value):
    if isinstance(value, list):
        return " ".join(value) or "-"
    return "default" if value is None else str(value)
