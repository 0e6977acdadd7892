"""`python -m sample_api runserver 127.0.0.1:8001`: Django's command line with the sample API's settings."""

import os
import sys

from django.core.management import execute_from_command_line

if __name__ == "__main__":
    os.environ["DJANGO_SETTINGS_MODULE"] = "sample_api.settings"
    execute_from_command_line(sys.argv)
