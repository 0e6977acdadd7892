#!/bin/sh
# Container start command: "provider" (migrate, collect static files, ensure a signing key, serve with
# gunicorn) or "sample-api". HOST (default 0.0.0.0), PORT and WEB_CONCURRENCY tune the listener.
# No gunicorn access log: Signet writes one JSON line per request itself, without query strings
# (they carry codes, state and id_token_hint).
set -eu
case "${1:-provider}" in
  provider)
    python manage.py migrate --noinput
    python manage.py collectstatic --noinput >/dev/null
    python manage.py keys ensure
    exec gunicorn provider.wsgi --bind "${HOST:-0.0.0.0}:${PORT:-8000}" --workers "${WEB_CONCURRENCY:-2}"
    ;;
  sample-api)
    exec gunicorn sample_api.wsgi --bind "${HOST:-0.0.0.0}:${PORT:-8001}" --workers "${WEB_CONCURRENCY:-2}"
    ;;
  *)
    exec "$@"
    ;;
esac
