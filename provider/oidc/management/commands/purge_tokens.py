import json

from django.core.management.base import BaseCommand

from ...housekeeping import tokens_purge


class Command(BaseCommand):
    help = (
        "Delete expired authorization codes, access, refresh and ID tokens, ended refresh families, "
        "expired device requests, deny-list entries and client assertion jtis past their expiry, and "
        "used or expired initial access tokens, in short batches (safe next to live traffic). "
        "Run it on a schedule, e.g. hourly."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, help="rows per statement (SIGNET_PURGE_BATCH_SIZE)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the counts as JSON")

    def handle(self, *args, batch_size=None, as_json=False, **options):
        report = tokens_purge(batch_size=batch_size)
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self.stdout.write("\n".join(f"{count:>9}  {name}" for name, count in report.items()))
