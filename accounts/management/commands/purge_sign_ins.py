import json

from django.core.management.base import BaseCommand, CommandError

from ...session_records import sign_ins_purge


class Command(BaseCommand):
    help = (
        "Delete the records of sign-ins that ended, or expired with their browser session, more than "
        "--days ago (the Sessions page and the admin no longer list them). Run it on a schedule."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=30, help="keep this many days of them (default: 30)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the count as JSON")

    def handle(self, *args, days=30, as_json=False, **options):
        if days < 0:
            raise CommandError("--days must be 0 or more")
        deleted = sign_ins_purge(days=days)
        self.stdout.write(
            json.dumps({"sign_in_sessions": deleted}) if as_json else f"{deleted:>9}  sign-in sessions"
        )
