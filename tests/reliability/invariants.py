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
    from django.db.models import Count, F
    from django.utils import timezone
    from oauth2_provider.models import get_access_token_model, get_refresh_token_model
    from oauth2_provider.settings import oauth2_settings

    from keys.models import SigningKey

    RefreshToken = get_refresh_token_model()
    AccessToken = get_access_token_model()
    spec = json.load(sys.stdin)
    now = timezone.now()
    idle = timezone.timedelta(seconds=oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS or 0)

    live = RefreshToken.objects.filter(
        revoked__isnull=True, access_token__isnull=False, access_token__expires__gt=now - idle
    )
    forked = (
        live.exclude(token_family__isnull=True).values("token_family").annotate(n=Count("id")).filter(n__gt=1)
    )

    received = set(spec["refresh_tokens_sha256"])
    rows = {}
    for rt in RefreshToken.objects.filter(token_checksum__in=received).select_related("access_token"):
        # (checksum, revoked) is unique, so a checksum may have a revoked and a live row: keep the worst.
        if rt.revoked is not None:
            state = "revoked"
        elif rt.access_token is None:
            state = "orphan"
        elif rt.access_token.expires + idle <= now:
            state = "expired"
        else:
            state = "valid"
        rows.setdefault(rt.token_checksum, set()).add(state)
    states = Counter()
    for states_of_one in rows.values():
        states[sorted(states_of_one)[0] if len(states_of_one) == 1 else "+".join(sorted(states_of_one))] += 1

    report = {
        "active_keys": SigningKey.objects.filter(state="active").count(),
        "next_keys": SigningKey.objects.filter(state="next").count(),
        "forked_families": [str(row["token_family"]) for row in forked],
        "received": len(received),
        "lost": len(received - set(rows)),
        "received_states": dict(states),
        # A refresh token neither revoked nor holding an access token: a rotation written halfway.
        "orphans": RefreshToken.objects.filter(revoked__isnull=True, access_token__isnull=True).count(),
        # An access token minted from a refresh token that is still unrevoked: rotation not completed.
        "half_rotations": AccessToken.objects.filter(
            source_refresh_token__isnull=False, source_refresh_token__revoked__isnull=True
        )
        .exclude(source_refresh_token__access_token=F("pk"))
        .count(),
        "refresh_tokens": RefreshToken.objects.count(),
        "access_tokens": AccessToken.objects.count(),
    }
    # Log lines share stdout: the result is the line that starts with RESULT.
    print("RESULT", json.dumps(report))


if __name__ == "__main__":
    main()
