"""N simultaneous refreshes with one refresh token, against the live (threaded) server on PostgreSQL."""

import threading

import pytest
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from tests.tokens.conftest import refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

N = 8


def race(n, call):
    """Run `call` in n threads released at the same moment; return the responses."""
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        barrier.wait()
        results[i] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def test_simultaneous_refreshes_give_one_success_and_never_two_families(issuer, signed_in):
    client, secret, body = signed_in
    responses = race(N, lambda: refresh(issuer, client, secret, body["refresh_token"]))

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [400] * (N - 1), [r.text for r in responses]
    assert all(r.json()["error"] == "invalid_grant" for r in responses if r.status_code == 400)
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["access_token"] and winner["refresh_token"]  # a real pair, not an empty replay

    # At most one live refresh token and one live access token for this sign-in. The losers
    # presented a token that had just been rotated: that is reuse, so the family is revoked.
    live = get_refresh_token_model().objects.filter(application=client, revoked__isnull=True)
    assert live.count() <= 1
    assert get_access_token_model().objects.filter(application=client).count() <= 1
    assert refresh(issuer, client, secret, winner["refresh_token"]).status_code == 400
