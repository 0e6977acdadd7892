#!/bin/sh
# Container start command: "provider" (migrate, collect static files, run the signing-key schedule,
# serve with gunicorn), "jobs" (the scheduled jobs, below), "worker" (the task queue) or "sample-api". HOST (default 0.0.0.0),
# PORT, WEB_CONCURRENCY (worker processes) and GUNICORN_THREADS (threads per worker) tune the listener.
# Threads overlap each request's waits on PostgreSQL and Redis; bench/ measures this configuration.
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
  jobs)
    # Every JOBS_INTERVAL_SECONDS (an hour): expired tokens purged in short batches, then the key
    # schedule (a rotation when due; retired keys whose tokens have all expired dropped). Both are safe
    # at any moment next to live traffic, so a loop in this image is enough: no cron daemon or other
    # binary to install and verify, and the same settings as the provider. A failed run is reported
    # and tried again at the next interval. `wait` lets `docker stop` (SIGTERM) end the sleep at once.
    trap 'exit 0' TERM INT
    while :; do
      python manage.py purge_tokens || echo "jobs: purge_tokens failed with status $?" >&2
      python manage.py keys rotate --if-due || echo "jobs: keys rotate --if-due failed with status $?" >&2
      # The task queue's finished rows (provider/tasks.py), after 14 days in the admin's Tasks page.
      python manage.py prune_db_task_results || echo "jobs: prune_db_task_results failed with status $?" >&2
      # Sign-in records that ended or expired over 30 days ago (accounts/session_records.py).
      python manage.py purge_sign_ins || echo "jobs: purge_sign_ins failed with status $?" >&2
      sleep "${JOBS_INTERVAL_SECONDS:-3600}" &
      wait $!
    done
    ;;
  worker)
    # The task queue's worker (provider/tasks.py): back-channel logout tokens and password-reset mail.
    # Tasks are rows in the database; more than one worker may run (each claims a row under a lock).
    # SIGTERM lets the task in hand finish. The provider's migrations create its tables.
    exec python manage.py db_worker --no-reload
    ;;
  sample-api)
    exec gunicorn sample_api.wsgi --bind "${HOST:-0.0.0.0}:${PORT:-8001}" --workers "${WEB_CONCURRENCY:-2}"
    ;;
  *)
    exec "$@"
    ;;
esac
