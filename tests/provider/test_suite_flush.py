"""The suite's flush between transactional tests (tests/conftest.py deletes rather than truncates on
PostgreSQL) leaves every table empty, rows that reference each other included."""

import pytest
from django.core.management import call_command
from django.db import connection

from provider.oidc import refresh


@pytest.mark.django_db(transaction=True)
def test_a_flush_empties_every_table_rows_that_reference_each_other_included(user, rp_client):
    client, _secret = rp_client
    grant = refresh.family_start(client=client, user=user, scopes=["openid"])
    refresh.refresh_token_issue(
        grant=grant, resources=[]
    )  # a row referencing the grant, the client, the user
    tables = connection.introspection.django_table_names(only_existing=True, include_views=False)

    def counts():
        with connection.cursor() as cursor:
            return {
                t: cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(t)}").fetchone()[0]
                for t in tables
            }  # noqa: S608

    assert sum(counts().values()) >= 5
    # As TransactionTestCase empties the database after each test.
    call_command("flush", verbosity=0, interactive=False, reset_sequences=False, inhibit_post_migrate=True)
    assert {t: n for t, n in counts().items() if n} == {}
