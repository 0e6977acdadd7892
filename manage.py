#!/usr/bin/env python
"""Django's command-line utility for Signet."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider.settings")
    # A command's results go to stdout (--json is parsed by scripts): its log lines go to stderr.
    if sys.argv[1:2] != ["runserver"]:
        os.environ.setdefault("LOG_STREAM", "stderr")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 - loads the settings, which check the environment
    except ImproperlyConfigured as e:
        # A missing or bad variable is the operator's to fix: one line naming it, not a traceback.
        sys.exit(f"manage.py: {e}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
