"""Sustained mixed load on two provider instances sharing PostgreSQL and Redis, with the signing key
rotated every few seconds while the sample API verifies the tokens it is shown.

Afterwards nothing may have failed and the database must hold its invariants: exactly one active
key, no refresh-token family with two live tokens, and every refresh token a client received still
in the table (valid, expired or revoked), none lost.
"""

import pytest

from .load import LoadRun, leaked

pytestmark = [pytest.mark.postgres, pytest.mark.reliability]

# Named presets: CI runs "short"; `./dev soak` runs "long" (see SECURITY.md and the README).
PRESETS = {
    "short": {"duration": 10, "concurrency": 4, "rotate_every": 3},
    "long": {"duration": 600, "concurrency": 8, "rotate_every": 5},
}


@pytest.mark.parametrize(
    "preset",
    [
        "short",
        pytest.param("long", marks=[pytest.mark.slow, pytest.mark.timeout(1800)]),
    ],
)
def test_mixed_load_with_key_rotation_loses_and_forks_nothing(deploy, figures, preset):
    deployment = deploy(instances=2, with_redis=True, with_sample_api=True)
    assert deployment.sample_api is not None, "the sample API (sample_api/wsgi.py, urls.py) is needed"

    report = LoadRun(deployment, **PRESETS[preset]).run()
    invariants = deployment.invariants(report.refresh_tokens)
    figures("load", report.figures())
    figures("invariants", invariants)

    assert report.server_errors == [], deployment.logs()[-5000:]
    assert report.transport_errors == []
    assert report.wrong_answers == []
    assert report.lost == []
    assert report.forks == 0
    assert report.sample_api_failures == []

    # The load really happened, across rotations.
    assert report.refreshes > 0 and report.sample_api_checks > 0 and report.races > 0
    assert report.rotation_errors == []
    assert report.rotations >= (2 if preset == "long" else 1)
    assert len(report.kids_seen) >= 2, "tokens signed by several keys: the rotations took effect under load"

    # No secret of the run in any process's log (provider instances and sample API).
    assert leaked(deployment.logs(), report, deployment) == []
    assert len(report.issued) > 0

    assert invariants["active_keys"] == 1
    assert invariants["forked_families"] == []
    assert invariants["lost"] == 0
    assert invariants["received"] == len(report.refresh_tokens)
    assert invariants["orphans"] == 0
    assert invariants["half_rotations"] == 0
