"""WSGI entry point (gunicorn provider.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider.settings")
django_application = get_wsgi_application()

from provider.wsgi_documents import PreparedDocuments  # noqa: E402  (needs the settings above)

# Discovery and the JWKS from their prepared bytes; everything else through Django's handler.
application = PreparedDocuments(django_application)
