import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count

from provider.cli import OperatorCommand


def _row(group):
    return {
        "name": group.name,
        "members": sorted(group.user_set.values_list("email", flat=True)),
        # Clients only these groups' members may use (with the client's other allowed groups).
        "clients": sorted(group.clients.values_list("client_id", flat=True)),
    }


class Command(OperatorCommand):
    help = (
        "Create, list, show and delete groups, and add users to them or remove them. A group's name "
        "is what the `groups` claim carries; a client restricted to groups serves only their members. "
        "A user is named by email or id (sub). Every change is an audit event with the operator "
        "(--actor, else the OS user) as its actor."
    )

    def add_actions(self, subparsers):
        subparsers.add_parser("create", help="create a group").add_argument("group", metavar="NAME")
        subparsers.add_parser("list", help="list groups with their member and client counts")
        subparsers.add_parser("show", help="one group's members and clients").add_argument(
            "group", metavar="NAME"
        )
        subparsers.add_parser(
            "delete", help="delete a group (refused while a client is restricted to it)"
        ).add_argument("group", metavar="NAME")
        for action, text in (
            ("add", "add users to a group"),
            (
                "remove",
                "remove users from a group; their grants of clients it opened end at the next refresh",
            ),
        ):
            sub = subparsers.add_parser(action, help=text)
            sub.add_argument("group", metavar="NAME")
            sub.add_argument("users", metavar="EMAIL_OR_ID", nargs="+")

    def group(self, name):
        group = Group.objects.filter(name=name).first()
        if group is None:
            self.fail(f"no group named {name!r}")
        return group

    def user(self, identifier):
        users = get_user_model().objects
        try:
            user = users.filter(pk=uuid.UUID(identifier)).first()
        except ValueError:
            user = users.filter(email__iexact=identifier.strip()).first()
        if user is None:
            self.fail(f"no user {identifier!r}")
        return user

    def do_create(self, group, **options):
        name = group.strip()
        if not name:
            self.fail("a group needs a name")
        if len(name) > Group._meta.get_field("name").max_length:
            self.fail(f"a group name has at most {Group._meta.get_field('name').max_length} characters")
        with transaction.atomic():
            if Group.objects.filter(name=name).exists():
                self.fail(f"a group named {name!r} already exists")
            Group.objects.create(name=name)
            self.audit("group.created", group=name)
        self.emit({"name": name, "created": True}, f"created group {name}")

    def do_list(self, **options):
        groups = Group.objects.annotate(
            member_count=Count("user", distinct=True), client_count=Count("clients", distinct=True)
        ).order_by("name")
        rows = [{"name": g.name, "members": g.member_count, "clients": g.client_count} for g in groups]
        lines = [f"{r['name']}  {r['members']} member(s), {r['clients']} client(s)" for r in rows]
        self.emit(rows, "\n".join(lines) or "no groups")

    def do_show(self, group, **options):
        row = _row(self.group(group))
        self.emit(
            row,
            "\n".join(f"{k}: {(' '.join(v) or '-') if isinstance(v, list) else v}" for k, v in row.items()),
        )

    def do_delete(self, group, **options):
        group = self.group(group)
        clients = sorted(group.clients.values_list("client_id", flat=True))
        if clients:
            # Deleting it would leave a client restricted to this group alone open to every user.
            self.fail(
                f"clients are restricted to {group.name!r}: {', '.join(clients)}; "
                "change their allowed groups first (clients update ID --allowed-group ...)"
            )
        with transaction.atomic():
            members = group.user_set.count()
            group.delete()
            self.audit("group.deleted", group=group.name, members=members)
        self.emit({"deleted": group.name}, f"deleted group {group.name}")

    def do_add(self, group, users, **options):
        self.change_members(self.group(group), users, add=True)

    def do_remove(self, group, users, **options):
        self.change_members(self.group(group), users, add=False)

    def change_members(self, group, identifiers, *, add):
        users = [self.user(identifier) for identifier in identifiers]  # all known, or nothing changes
        current = set(group.user_set.values_list("pk", flat=True))
        changed = [u for u in dict.fromkeys(users) if (u.pk in current) != add]
        event = "group.member_added" if add else "group.member_removed"
        with transaction.atomic():
            if add:
                group.user_set.add(*changed)
            else:
                group.user_set.remove(*changed)
            for user in changed:
                self.audit(event, group=group.name, user=str(user.pk), email=user.email)
        verb, where = ("added", "to") if add else ("removed", "from")
        emails = [u.email for u in changed]
        self.emit(
            {"group": group.name, verb: emails},
            f"{verb} {', '.join(emails)} {where} {group.name}"
            if emails
            else f"{group.name}: nothing to change",
        )
