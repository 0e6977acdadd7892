"""WSGI entry point (gunicorn provider.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider.settings")
django_application = get_wsgi_application()

from provider.wsgi_documents import PreparedDocuments  # noqa: E402  (needs the settings above)

# Discovery and the JWKS from their prepared bytes; everything else through Django's handler.
application = PreparedDocuments(django_application)

# The URLconf, and with it every view module, is loaded now rather than by each worker's first request:
# under gunicorn's preload (provider/gunicorn_conf.py) the workers then share that code's memory with
# the master. Only imports: no database or Redis connection is opened here.
application.routes()
