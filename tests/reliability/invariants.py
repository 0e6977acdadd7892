"""Read a provider database after load and report its invariants (`python -m tests.reliability.invariants`).

stdin: {"refresh_tokens_sha256": [...]} — the SHA-256 of every refresh token the load clients received.
stdout: a JSON report; the test asserts on it. Everything is read from the tables, not through an
endpoint, so a bug in an endpoint cannot hide a bug in the data.
"""

import json
import os
import sys
from collections import Counter


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider.settings")
    import django

    django.setup()
    from django.db.models import Count, Exists, OuterRef
    from django.utils import timezone
    from oauth2_provider.models import get_refresh_token_model

    from keys.models import SigningKey
    from provider.oidc.models import TokenFamily

    RefreshToken = get_refresh_token_model()
    spec = json.load(sys.stdin)
    now = timezone.now()

    live = RefreshToken.objects.filter(revoked__isnull=True)
    forked = (
        live.exclude(token_family__isnull=True).values("token_family").annotate(n=Count("id")).filter(n__gt=1)
    )

    received = set(spec["refresh_tokens_sha256"])
    rows = {}
    for rt in RefreshToken.objects.filter(token_checksum__in=received):
        # (checksum, revoked) is unique, so a checksum may have a revoked and a live row: keep the worst.
        rows.setdefault(rt.token_checksum, set()).add("revoked" if rt.revoked is not None else "valid")
    states = Counter()
    for states_of_one in rows.values():
        states[sorted(states_of_one)[0] if len(states_of_one) == 1 else "+".join(sorted(states_of_one))] += 1

    grant_of = TokenFamily.objects.filter(family=OuterRef("token_family"))
    live_token_of = live.filter(token_family=OuterRef("family"))
    report = {
        "active_keys": SigningKey.objects.filter(state="active").count(),
        "next_keys": SigningKey.objects.filter(state="next").count(),
        "forked_families": [str(row["token_family"]) for row in forked],
        "received": len(received),
        "lost": len(received - set(rows)),
        "received_states": dict(states),
        # A live refresh token without a live grant: a grant written halfway, or ended halfway.
        "orphans": live.annotate(granted=Exists(grant_of.filter(revoked_at__isnull=True)))
        .filter(granted=False)
        .count(),
        # A live grant without a live refresh token: a rotation that revoked one and stored no other.
        "half_rotations": TokenFamily.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
        .annotate(current=Exists(live_token_of))
        .filter(current=False)
        .count(),
        "refresh_tokens": RefreshToken.objects.count(),
        "grants": TokenFamily.objects.count(),
    }
    # Log lines share stdout: the result is the line that starts with RESULT.
    print("RESULT", json.dumps(report))


if __name__ == "__main__":
    main()
