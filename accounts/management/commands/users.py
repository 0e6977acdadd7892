from django.core.exceptions import ValidationError

from provider.cli import OperatorCommand

from ...services import user_create


class Command(OperatorCommand):
    help = "Create users. The password is read from standard input, never from the command line."

    def add_actions(self, subparsers):
        create = subparsers.add_parser("create", help="create a user")
        create.add_argument("--email", required=True)
        create.add_argument("--first-name", default="")
        create.add_argument("--last-name", default="")
        create.add_argument(
            "--password-stdin", action="store_true", help="read the password from the first line of stdin"
        )
        create.add_argument("--superuser", action="store_true", help="staff and superuser (admin access)")
        create.add_argument("--email-verified", action="store_true")

    def do_create(self, email, first_name, last_name, password_stdin, superuser, email_verified, **options):
        password = self.read_stdin_secret("password") if password_stdin else None
        try:
            user = user_create(
                email=email,
                password=password,
                first_name=first_name,
                last_name=last_name,
                superuser=superuser,
                email_verified=email_verified,
            )
        except ValidationError as e:
            self.fail("; ".join(m for msgs in _messages(e) for m in msgs))
        self.emit(
            {"id": str(user.pk), "email": user.email, "superuser": user.is_superuser},
            f"created user {user.email} (sub {user.pk})" + ("" if password else "; no password set"),
        )


def _messages(error):
    if hasattr(error, "message_dict"):
        return [[f"{k}: {m}" for m in v] for k, v in error.message_dict.items()]
    return [error.messages]
