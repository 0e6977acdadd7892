"""Shared plumbing for the operator commands: --json output, one-line errors, ids that begin with '-'."""

import getpass
import json
import os
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from provider.audit import audit

DASH_HELP = (
    "A value that begins with '-' (a kid is base64url and can) is taken as it is; "
    "to be explicit, put a positional one after '--' (keys revoke -- -UYf...) "
    "and give an option's as --option=VALUE (--client-id=-abc)."
)


class ActionParser(CommandParser):
    """An action's parser that reads an unknown '-word' as a value, not as an option.

    Identifiers the operator did not choose (RFC 7638 kids) or may choose freely (client ids,
    emails) can begin with '-'; plain argparse would refuse them as unknown options. A token that
    is none of this action's options becomes the value of the option before it when that option
    takes one, and a positional otherwise. '--' still works as argparse's own separator.
    """

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_abbrev", False)  # an abbreviation would make "unknown" ambiguous
        kwargs.setdefault("epilog", DASH_HELP)
        self.takes_value = {}  # before super(): it adds -h through add_argument
        self.has_positionals = False
        super().__init__(**kwargs)

    def add_argument(self, *args, **kwargs):
        action = super().add_argument(*args, **kwargs)
        for flag in action.option_strings:
            self.takes_value[flag] = action.nargs != 0
        self.has_positionals |= not action.option_strings
        return action

    def parse_known_args(self, args=None, namespace=None):
        if args is not None:
            args = self.dash_values_as_values(list(args))
        return super().parse_known_args(args, namespace)

    def dash_values_as_values(self, args):
        options, positionals = [], []
        tokens = iter(args)
        for token in tokens:
            if token == "--":
                positionals.extend(tokens)
                break
            flag = token.split("=", 1)[0]
            if token.startswith("-") and flag in self.takes_value:
                options.append(token)
                if self.takes_value[flag] and "=" not in token:
                    value = next(tokens, None)
                    if value is not None:
                        # "--email -x@example.com": the value goes with its option, whatever it looks like.
                        options[-1] = f"{token}={value}"
            elif token.startswith("-") and not self.has_positionals:
                options.append(token)  # nothing it could be the value of: argparse refuses it by name
            else:
                positionals.append(token)
        if any(p.startswith("-") for p in positionals):
            return [*options, "--", *positionals]
        return options + positionals


def os_user():
    """The name of the user running the command, or their uid when the system has no name for it."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's uid without a passwd entry
        return f"uid{os.getuid()}"


class OperatorCommand(BaseCommand):
    """A command with sub-actions; every result prints as text, or as JSON with --json."""

    def add_arguments(self, parser):
        subparsers = parser.add_subparsers(
            dest="action", required=True, metavar="ACTION", parser_class=ActionParser
        )
        self.add_actions(subparsers)
        for sub in subparsers.choices.values():
            sub.add_argument("--json", action="store_true", help="print the result as JSON")
            sub.add_argument(
                "--actor",
                metavar="NAME",
                help="who makes the change, for the audit trail (default: the OS user); recorded as cli:NAME",
            )

    def add_actions(self, subparsers):
        raise NotImplementedError

    def handle(self, *args, **options):
        self.as_json = options.pop("json")
        self.actor = f"cli:{options.pop('actor') or os_user()}"
        action = options.pop("action").replace("-", "_")
        getattr(self, f"do_{action}")(**options)

    def emit(self, data, text):
        if self.as_json:
            self.stdout.write(json.dumps(data, indent=2, default=str))
        else:
            self.stdout.write(text)

    def fail(self, message):
        raise CommandError(message)

    def audit(self, event, **fields):
        """An audit event for a change this command made, with the operator as its actor."""
        audit(event, actor=self.actor, **fields)

    def confirm(self, question):
        """True when the operator answers yes; refuses when nobody is there to answer."""
        if not sys.stdin.isatty():
            raise CommandError(f"{question} Standard input is not a terminal: pass --yes to confirm.")
        return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")

    @staticmethod
    def read_stdin_secret(label):
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise CommandError(f"no {label} on standard input")
        return value
