"""WSGI entry point of the sample API: `gunicorn sample_api.wsgi`."""

import os

from django.core.wsgi import get_wsgi_application

# Not setdefault: this process must never run with the provider's settings by accident.
os.environ["DJANGO_SETTINGS_MODULE"] = "sample_api.settings"

application = get_wsgi_application()
