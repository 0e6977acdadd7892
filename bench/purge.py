"""Purge benchmark: how fast `manage.py purge_tokens` clears expired rows, and how long one batch holds locks.

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE signet_bench_purge"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/signet_bench_purge \\
        .venv/bin/python bench/purge.py --rows 200000 --batch-size 1000

Inserts ROWS expired access tokens, ROWS idle-expired refresh tokens (with their access tokens) and ROWS
expired codes with SQL (PostgreSQL only), then runs provider.oidc.housekeeping.tokens_purge and prints
the figures. Each batch is its own transaction, so the longest batch is the longest any lock is held.
Asserts nothing.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider.settings")
os.environ.setdefault("DEBUG", "true")


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model

    from accounts.models import User
    from provider.oidc.housekeeping import tokens_purge
    from provider.oidc.models import AuthorizationCode
    from provider.oidc.services import client_create

    assert connection.vendor == "postgresql", "set DATABASE_URL to a PostgreSQL database"
    call_command("migrate", verbosity=0)
    User.objects.filter(email="bench-purge@example.com").delete()
    user = User.objects.create_user("bench-purge@example.com", "bench-purge-password-1")
    client, _ = client_create(name="bench purge", client_type="confidential", grant="client-credentials")
    at = get_access_token_model()._meta.db_table
    rt = get_refresh_token_model()._meta.db_table
    codes = AuthorizationCode._meta.db_table
    n = args.rows
    with connection.cursor() as cursor:
        # n expired access tokens on their own, n more paired with idle-expired refresh tokens.
        cursor.execute(
            f"""INSERT INTO {at} (token, token_checksum, expires, scope, resource, created, updated,
                                  application_id, user_id)
                SELECT '', md5('a' || g) || md5('b' || g), now() - interval '40 days', 'openid', '[]',
                       now(), now(), %s, %s
                FROM generate_series(1, %s) g""",
            [client.pk, user.pk, 2 * n],
        )
        cursor.execute(
            f"""INSERT INTO {rt} (token, token_checksum, access_token_id, resource, created, updated,
                                  application_id, user_id)
                SELECT '', md5('r' || a.id), a.id, '[]', now(), now(), a.application_id, a.user_id
                FROM {at} a WHERE a.application_id = %s ORDER BY a.id LIMIT %s""",
            [client.pk, n],
        )
        cursor.execute(
            f"""INSERT INTO {codes} (code, expires, redirect_uri, scope, created, updated, code_challenge,
                                     code_challenge_method, nonce, claims, resource, application_id,
                                     user_id, sid, acr)
                SELECT 'bench-' || g, now() - interval '1 hour', 'https://rp.example.com/cb', 'openid',
                       now(), now(), '', '', '', '', '[]', %s, %s, '', ''
                FROM generate_series(1, %s) g""",
            [client.pk, user.pk, n],
        )
        cursor.execute(f"ANALYZE {at}; ANALYZE {rt}; ANALYZE {codes}")

    marks = [time.perf_counter()]
    started = marks[0]
    report = tokens_purge(
        batch_size=args.batch_size, on_batch=lambda name, count: marks.append(time.perf_counter())
    )
    elapsed = time.perf_counter() - started
    batches = [b - a for a, b in zip(marks, marks[1:], strict=False)]
    deleted = sum(report.values())
    print(f"rows deleted          {deleted}  ({report})")
    print(f"total                 {elapsed:.2f} s  ({deleted / elapsed:,.0f} rows/s)")
    print(f"batches               {len(batches)} of up to {args.batch_size} rows")
    print(f"batch time p50 / max  {statistics.median(batches) * 1000:.1f} ms / {max(batches) * 1000:.1f} ms")
    client.delete()
    user.delete()


if __name__ == "__main__":
    main()
