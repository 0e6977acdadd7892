import getpass
import sys
import uuid

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from provider.cli import OperatorCommand

from ...mfa_reset import mfa_reset
from ...services import user_create, user_set_active, user_set_password


def _row(user):
    return {
        "id": str(user.pk),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email_verified": user.email_verified,
        "active": user.is_active,
        "staff": user.is_staff,
        "superuser": user.is_superuser,
        "date_joined": user.date_joined,
        "last_login": user.last_login,
    }


class Command(OperatorCommand):
    help = (
        "Create, list, show, disable, enable and delete users, and set their passwords. A password is "
        "read from a prompt or standard input, never from the command line. A user is named by email "
        "or id (sub). Every change is an audit event with the operator (--actor, else the OS user) as "
        "its actor."
    )

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

        listing = subparsers.add_parser("list", help="list users")
        listing.add_argument("--search", help="only emails or names containing this")
        listing.add_argument("--disabled", action="store_true", help="only disabled users")
        listing.add_argument("--staff", action="store_true", help="only staff users")

        for action, text in (
            ("show", "one user's account"),
            ("disable", "disable a user: ends their sessions and grants; their tokens stop at once"),
            ("enable", "enable a disabled user (their old sessions and grants stay ended)"),
        ):
            subparsers.add_parser(action, help=text).add_argument("user", metavar="EMAIL_OR_ID")

        password = subparsers.add_parser(
            "set-password",
            help="set a user's password (prompted twice, or --password-stdin); ends their grants",
        )
        password.add_argument("user", metavar="EMAIL_OR_ID")
        password.add_argument(
            "--password-stdin", action="store_true", help="read the password from the first line of stdin"
        )

        reset = subparsers.add_parser(
            "mfa-reset",
            help="remove a user's authenticator app, recovery codes and passkeys (lost); mails them",
        )
        reset.add_argument("user", metavar="EMAIL_OR_ID")
        reset.add_argument("--reason", required=True, help="why (kept in the audit log)")

        delete = subparsers.add_parser("delete", help="delete a user with their grants and consents")
        delete.add_argument("user", metavar="EMAIL_OR_ID")
        delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def user(self, identifier):
        users = get_user_model().objects
        try:
            user = users.filter(pk=uuid.UUID(identifier)).first()
        except ValueError:
            user = users.filter(email__iexact=identifier.strip()).first()
        if user is None:
            self.fail(f"no user {identifier!r}")
        return user

    def do_create(self, email, first_name, last_name, password_stdin, superuser, email_verified, **options):
        password = self.read_stdin_secret("password") if password_stdin else None
        try:
            with transaction.atomic():
                user = user_create(
                    email=email,
                    password=password,
                    first_name=first_name,
                    last_name=last_name,
                    superuser=superuser,
                    email_verified=email_verified,
                )
                self.audit("user.created", user=str(user.pk), email=user.email, superuser=superuser)
        except ValidationError as e:
            self.fail(_message(e))
        self.emit(
            {"id": str(user.pk), "email": user.email, "superuser": user.is_superuser},
            f"created user {user.email} (sub {user.pk})" + ("" if password else "; no password set"),
        )

    def do_list(self, search, disabled, staff, **options):
        users = get_user_model().objects.order_by("email")
        if search:
            users = users.filter(
                Q(email__icontains=search) | Q(first_name__icontains=search) | Q(last_name__icontains=search)
            )
        if disabled:
            users = users.filter(is_active=False)
        if staff:
            users = users.filter(is_staff=True)
        users = list(users)
        lines = [
            f"{u.pk}  {u.email}"
            + "".join(f" ({flag})" for flag, on in _flags(u) if on)
            + (f"  {u.full_name}" if u.full_name else "")
            for u in users
        ]
        self.emit([_row(u) for u in users], "\n".join(lines) or "no users")

    def do_show(self, user, **options):
        row = _row(self.user(user))
        self.emit(row, "\n".join(f"{k}: {'-' if v is None or v == '' else v}" for k, v in row.items()))

    def do_disable(self, user, **options):
        self.set_active(self.user(user), False)

    def do_enable(self, user, **options):
        self.set_active(self.user(user), True)

    def set_active(self, user, active):
        state = "enabled" if active else "disabled"
        with transaction.atomic():
            changed = user_set_active(user=user, active=active)
            if changed:
                self.audit(f"user.{state}", user=str(user.pk), email=user.email)
        self.emit(
            {"id": str(user.pk), "email": user.email, "active": active, "changed": changed},
            f"{state} {user.email}" if changed else f"{user.email} was already {state}",
        )

    def do_set_password(self, user, password_stdin, **options):
        user = self.user(user)
        password = self.read_stdin_secret("password") if password_stdin else self.prompt_password()
        try:
            with transaction.atomic():
                user_set_password(user=user, password=password)
                self.audit("user.password_set", user=str(user.pk), email=user.email)
        except ValidationError as e:
            self.fail(_message(e))
        self.emit(
            {"id": str(user.pk), "email": user.email, "password_set": True},
            f"new password set for {user.email}; the grants the old one obtained have ended",
        )

    def prompt_password(self):
        if not sys.stdin.isatty():
            self.fail("standard input is not a terminal: give the password with --password-stdin")
        first = getpass.getpass("New password: ")
        if getpass.getpass("Again: ") != first:
            self.fail("the two passwords differ")
        if not first:
            self.fail("no password given")
        return first

    def do_mfa_reset(self, user, reason, **options):
        user = self.user(user)
        if not reason.strip():
            self.fail("give a reason")
        removed = mfa_reset(user=user, actor=self.actor, reason=reason.strip()[:500])
        app = "removed" if removed["totp"] else "none"
        self.emit(
            {"id": str(user.pk), "email": user.email, **removed},
            f"second factors of {user.email} reset: authenticator app {app}, "
            f"{removed['recovery_codes']} recovery code(s), {removed['passkeys']} passkey(s)",
        )

    def do_delete(self, user, yes, **options):
        user = self.user(user)
        if not yes and not self.confirm(f"Delete {user.email} (sub {user.pk}), their grants and consents?"):
            self.fail("not deleted")
        pk, email = str(user.pk), user.email
        with transaction.atomic():
            self.audit("user.deleted", user=pk, email=email)
            user.delete()
        self.emit({"deleted": pk, "email": email}, f"deleted {email} (sub {pk})")


def _flags(user):
    return (("disabled", not user.is_active), ("superuser", user.is_superuser), ("staff", user.is_staff))


def _message(error):
    if hasattr(error, "message_dict"):
        return "; ".join(f"{k}: {m}" for k, v in error.message_dict.items() for m in v)
    return "; ".join(error.messages)
