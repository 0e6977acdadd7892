"""Shared plumbing for the operator commands: --json output and one-line errors."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError


class OperatorCommand(BaseCommand):
    """A command with sub-actions; every result prints as text, or as JSON with --json."""

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        self.add_actions(subparsers)
        for sub in subparsers.choices.values():
            sub.add_argument("--json", action="store_true", help="print the result as JSON")

    def add_actions(self, subparsers):
        raise NotImplementedError

    def handle(self, *args, **options):
        self.as_json = options.pop("json")
        action = options.pop("action").replace("-", "_")
        getattr(self, f"do_{action}")(**options)

    def emit(self, data, text):
        if self.as_json:
            self.stdout.write(json.dumps(data, indent=2, default=str))
        else:
            self.stdout.write(text)

    def fail(self, message):
        raise CommandError(message)

    @staticmethod
    def read_stdin_secret(label):
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise CommandError(f"no {label} on standard input")
        return value
