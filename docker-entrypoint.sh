#!/bin/sh
# Container start command: "provider" (migrate, collect static files, serve with gunicorn) or "sample-api".
set -eu
case "${1:-provider}" in
  provider)
    python manage.py migrate --noinput
    python manage.py collectstatic --noinput >/dev/null
    python manage.py keys ensure
    exec gunicorn provider.wsgi --bind "0.0.0.0:${PORT:-8000}" --workers "${WEB_CONCURRENCY:-2}" --access-logfile -
    ;;
  sample-api)
    exec gunicorn sample_api.wsgi --bind "0.0.0.0:${PORT:-8001}" --workers "${WEB_CONCURRENCY:-2}" --access-logfile -
    ;;
  *)
    exec "$@"
    ;;
esac
