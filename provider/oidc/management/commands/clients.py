from django.core.exceptions import ValidationError

from provider.cli import OperatorCommand

from ...models import Client
from ...services import GRANTS, client_create


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
        "active": client.is_active,
    }


class Command(OperatorCommand):
    help = "Register, list and delete OAuth/OIDC clients. A client secret is printed once, at creation."

    def add_actions(self, subparsers):
        create = subparsers.add_parser("create", help="register a client")
        create.add_argument("--name", required=True)
        create.add_argument("--type", required=True, choices=["confidential", "public"])
        create.add_argument("--grant", required=True, choices=list(GRANTS))
        create.add_argument("--redirect-uri", action="append", default=[], dest="redirect_uris")
        create.add_argument(
            "--post-logout-redirect-uri", action="append", default=[], dest="post_logout_redirect_uris"
        )
        create.add_argument("--scopes", help='space-separated, e.g. "openid profile email"')
        create.add_argument("--audience", action="append", default=[], dest="audiences")
        create.add_argument("--client-id", help="choose the client id instead of generating one")
        create.add_argument(
            "--secret-stdin", action="store_true", help="read the secret (32+ characters) from stdin"
        )
        create.add_argument("--skip-consent", action="store_true", help="first-party: no consent page")
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
        subparsers.add_parser("list", help="list clients (secrets are never shown)")
        delete = subparsers.add_parser("delete", help="delete a client and its tokens")
        delete.add_argument("client_id")

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
                access_token_lifetime=o["access_token_lifetime"],
                id_token_lifetime=o["id_token_lifetime"],
                refresh_token_lifetime=o["refresh_token_lifetime"],
                identity_claims=o["identity_claims"],
            )
        except ValidationError as e:
            messages = e.message_dict.items() if hasattr(e, "message_dict") else [("error", e.messages)]
            self.fail("; ".join(f"{field}: {m}" for field, msgs in messages for m in msgs))
        row = _row(client)
        text = f"client_id: {client.client_id}"
        if plaintext and not secret:
            row["client_secret"] = plaintext
            text += f"\nclient_secret: {plaintext}\n(the secret is shown only now; store it safely)"
        self.emit(row, text)

    def do_list(self, **o):
        clients = list(Client.objects.order_by("name"))
        lines = [
            f"{c.client_id}  {c.client_type:12} {c.authorization_grant_type:20} {c.name}" for c in clients
        ]
        self.emit([_row(c) for c in clients], "\n".join(lines) or "no clients")

    def do_delete(self, client_id, **o):
        deleted, _ = Client.objects.filter(client_id=client_id).delete()
        if not deleted:
            self.fail(f"no client with id {client_id!r}")
        self.emit({"deleted": client_id}, f"deleted {client_id}")
