"""Faults under load: PostgreSQL crashes and comes back; Redis goes away.

- Database down: every request that needs it fails fast with 503 and a JSON body; when the server is
  back, the same provider processes serve again (no restart), and no grant is half-written.
- Redis down: the cache is an optimisation, so nothing fails; `/readyz` and the logs say the cache is
  degraded, and it is used again once Redis is back.
"""

import json
import time

import pytest
import requests

from .load import LoadRun
from .stack import wait_until

pytestmark = [pytest.mark.postgres, pytest.mark.reliability]

PRESETS = {
    # seconds of load before the fault, seconds the fault lasts, total seconds of load, repetitions
    "short": {"before": 4, "outage": 3, "duration": 20, "repeat": 1},
    "long": {"before": 20, "outage": 10, "duration": 300, "repeat": 5},
}
SLOW = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _readyz(url):
    response = requests.get(url + "/readyz", timeout=10)
    return response.status_code, response.json()


def _probe_outage(deployment, rp, service):
    """Requests that need the database, sent while it is down: each must be a fast 503 with JSON."""
    answers = []
    for provider in deployment.providers:
        base = provider.url
        for method, path, kwargs in [
            ("POST", "/token", {"data": {"grant_type": "client_credentials"}, "auth": service}),
            ("POST", "/introspect", {"data": {"token": "x" * 40}, "auth": rp}),
            ("GET", "/userinfo", {"headers": {"Authorization": "Bearer " + "y" * 40}}),
            ("GET", "/readyz", {}),
            ("GET", "/accounts/login/", {}),
        ]:
            response = requests.request(method, base + path, timeout=10, allow_redirects=False, **kwargs)
            try:
                body = response.json()
            except ValueError:
                body = None
            answers.append((path, response.status_code, response.headers.get("Content-Type", ""), body))
    return answers


@pytest.mark.parametrize("preset", ["short", pytest.param("long", marks=SLOW)])
def test_postgres_crash_mid_load_gives_503_then_recovers_without_restart(deploy, figures, preset):
    p = PRESETS[preset]
    deployment = deploy(instances=2, with_redis=True, with_sample_api=False)
    pids = [provider.process.pid for provider in deployment.providers]
    rp = (deployment.seed["rp"]["client_id"], deployment.seed["rp"]["secret"])
    service = (deployment.seed["service"]["client_id"], deployment.seed["service"]["secret"])
    probes = []

    def crash_and_recover(run):
        for _ in range(p["repeat"]):
            time.sleep(p["before"])
            with run.fault("postgres crash (pg_ctl stop -m immediate) and restart"):
                deployment.pg.stop("immediate")
                time.sleep(p["outage"] / 2)
                probes.extend(_probe_outage(deployment, rp, service))
                time.sleep(p["outage"] / 2)
                deployment.pg.start()
                # Recovery without restarting Signet: every instance reports ready again by itself.
                for provider in deployment.providers:
                    wait_until(
                        lambda url=provider.url: _readyz(url)[0] == 200, timeout=30, what="ready again"
                    )

    run = LoadRun(deployment, duration=p["duration"], concurrency=4)
    report = run.run(during=crash_and_recover)
    invariants = deployment.invariants(report.refresh_tokens)
    figures("load", report.figures())
    figures("invariants", invariants)

    # While the database was down: whatever needed it answered 503 with a JSON body at once, never
    # a 500 or an HTML error page (pages that need no database, like the login form, still serve).
    assert any(p[1] == 503 for p in probes)
    bad_probes = [
        p for p in probes if p[1] >= 500 and (p[1] != 503 or "json" not in p[2] or not isinstance(p[3], dict))
    ]
    assert bad_probes == [], json.dumps(bad_probes, default=str)[:3000]
    assert report.fault_errors_bad == []
    # Outside the outage, nothing failed at all; the processes were never restarted.
    assert report.server_errors == [], deployment.logs()[-5000:]
    assert report.transport_errors == []
    assert [provider.process.pid for provider in deployment.providers] == pids
    assert all(provider.alive() for provider in deployment.providers)
    assert report.lost == [] and report.forks == 0 and report.wrong_answers == []
    # No half-written grant: every refresh token handed out is in the table, no orphans, no fork.
    assert invariants["lost"] == 0
    assert invariants["orphans"] == 0
    assert invariants["half_rotations"] == 0
    assert invariants["forked_families"] == []
    assert invariants["active_keys"] == 1
    assert report.refreshes > 0 and report.fault_errors_ok > 0


@pytest.mark.parametrize("preset", ["short", pytest.param("long", marks=SLOW)])
def test_redis_outage_degrades_the_cache_but_nothing_fails(deploy, figures, preset):
    p = PRESETS[preset]
    deployment = deploy(instances=2, with_redis=True, with_sample_api=False)
    log_offsets = {}
    readiness = []

    def kill_and_restore_redis(run):
        for _ in range(p["repeat"]):
            time.sleep(p["before"])
            run.report.faults.append("redis killed (no fault window: nothing may fail)")
            for provider in deployment.providers:
                log_offsets.setdefault(provider.url, len(provider.read_log()))
            deployment.redis.stop()
            time.sleep(p["outage"])
            readiness.extend(_readyz(provider.url) for provider in deployment.providers)
            deployment.redis.start()
            for provider in deployment.providers:
                wait_until(
                    lambda url=provider.url: _readyz(url)[1]["checks"]["cache"] == "ok",
                    timeout=30,
                    what="cache used again",
                )

    report = LoadRun(deployment, duration=p["duration"], concurrency=4).run(during=kill_and_restore_redis)
    figures("load", report.figures())

    assert report.server_errors == [], deployment.logs()[-5000:]
    assert report.transport_errors == [] and report.wrong_answers == [] and report.lost == []
    assert report.refreshes > 0
    # /readyz: still ready (the cache is not required), but the detail says it is degraded.
    assert readiness and all(status == 200 for status, _ in readiness), readiness
    assert all(body["checks"]["cache"] != "ok" for _, body in readiness), readiness
    # The logs say so, on every instance: a warning or an error about the cache (or Redis).
    for provider in deployment.providers:
        after = provider.read_log()[log_offsets[provider.url] :]
        said = [line for line in after.splitlines() if _is_cache_warning(line)]
        assert said, f"no warning about the cache outage in {provider.log_path}"


def _is_cache_warning(line):
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    text = line.lower()
    return entry.get("level") in ("WARNING", "ERROR") and ("redis" in text or "cache" in text)
