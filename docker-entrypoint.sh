#!/bin/sh
# Container start command: "provider" (migrate, collect static files, run the signing-key schedule,
# serve with gunicorn) or "sample-api". HOST (default 0.0.0.0), PORT, WEB_CONCURRENCY (worker
# processes) and GUNICORN_THREADS (threads per worker) tune the listener. Threads overlap each
# request's waits on PostgreSQL and Redis; bench/ measures this configuration.
# No gunicorn access log: Signet writes one JSON line per request itself, without query strings
# (they carry codes, state and id_token_hint).
set -eu
case "${1:-provider}" in
  provider)
    python manage.py migrate --noinput
    python manage.py collectstatic --noinput >/dev/null
    # Requests never create or rotate keys: this makes the first ones, or does a rotation that fell due
    # while the provider was down, under the ring's lock (containers starting together rotate once).
    python manage.py keys rotate --if-due
    exec gunicorn provider.wsgi -c provider/gunicorn_conf.py --bind "${HOST:-0.0.0.0}:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-2}" --threads "${GUNICORN_THREADS:-4}" --keep-alive 30
    ;;
  sample-api)
    exec gunicorn sample_api.wsgi --bind "${HOST:-0.0.0.0}:${PORT:-8001}" --workers "${WEB_CONCURRENCY:-2}"
    ;;
  *)
    exec "$@"
    ;;
esac
