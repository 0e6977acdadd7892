"""Production as deploy/docker-compose.yml describes it, run without Docker (which these machines lack).

The provider container's start command (docker-entrypoint.sh: migrate, collectstatic, keys rotate
--if-due, gunicorn) and the jobs container's run here with the production compose environment against
a PostgreSQL server of our own. Requests arrive as Caddy forwards them (Host: the domain,
X-Forwarded-Proto: https). The last test stops and restarts PostgreSQL to see /readyz turn 503 and
recover without a restart of the provider. tests/deploy/test_compose.py checks the files themselves.
"""

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.support.postgres import ThrowawayPostgres, free_port, unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "deploy" / "docker-compose.yml").read_text())
DOMAIN = "id.example.test"
ISSUER = f"https://{DOMAIN}"
# What Caddy adds to every request it forwards (deploy/caddy/Caddyfile).
FORWARDED = {"Host": DOMAIN, "X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
# deploy/.env as an operator fills it in; the provider and the jobs container share it.
SHELL_VALUES = {
    "SIGNET_DOMAIN": DOMAIN,
    "SECRET_KEY": secrets.token_urlsafe(50),
    "SIGNET_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
    "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
    "EMAIL_URL": "smtp://127.0.0.1:2525",
    "DEFAULT_FROM_EMAIL": f"signet@{DOMAIN}",
}


def _expand(value, overrides):
    """docker-compose's ${NAME:-default} / ${NAME:?message} with our values, else the default."""

    def replace(match):
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if name in overrides:
            return overrides[name]
        assert op == ":-", f"{name} is required by compose and the test gives no value"
        return arg

    return re.sub(r"\$\{([A-Z_]+)(:[-?])([^}]*)\}", replace, str(value))


@pytest.fixture(scope="module")
def postgres():
    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the deployment test, but: {reason}")
        pytest.skip(f"NO THROWAWAY POSTGRESQL: {reason}")
    server = ThrowawayPostgres()
    server.start()
    yield server
    server.destroy()


def compose_environment(service, postgres):
    """A service's environment from the production compose file, with this machine's servers."""
    env = {
        name: _expand(value, SHELL_VALUES)
        for name, value in COMPOSE["services"][service]["environment"].items()
    }
    # The compose network's host names, replaced by this machine's servers.
    assert (
        env["DATABASE_URL"] == f"postgres://signet:{SHELL_VALUES['POSTGRES_PASSWORD']}@postgres:5432/signet"
    )
    env["DATABASE_URL"] = postgres.url("postgres")
    # .ci/run gives its concurrent SQLite and PostgreSQL runs a Redis database each.
    redis_db = os.environ.get("SIGNET_TEST_REDIS_DB", "15")
    local = env["REDIS_URL"].replace("redis://redis:", "redis://127.0.0.1:")
    env["REDIS_URL"] = local.replace("/0", f"/{redis_db}")
    env.update(
        {
            "WEB_CONCURRENCY": "1",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "SIGNET_READ_DOT_ENV": "false",
            "HOME": os.environ.get("HOME", "/tmp"),
        }
    )
    return env


def start_entrypoint(mode, env):
    """docker-entrypoint.sh MODE in its own process, its output collected line by line."""
    process = subprocess.Popen(
        ["sh", "docker-entrypoint.sh", mode],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = [], []
    for stream, sink in ((process.stdout, stdout), (process.stderr, stderr)):
        threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True).start()
    return process, stdout, stderr


@pytest.fixture(scope="module")
def deployed(postgres):
    """The provider container's start command, run here with the production compose environment."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = compose_environment("provider", postgres)
    env.update({"HOST": "127.0.0.1", "PORT": str(port)})  # never listen beyond this machine in tests
    process, stdout, stderr = start_entrypoint("provider", env)
    proxy = requests.Session()
    proxy.headers.update(FORWARDED)
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None:
            pytest.fail(f"the entrypoint exited {process.returncode}:\n{''.join(stderr)[-3000:]}")
        try:
            if proxy.get(f"{base}/readyz", timeout=2).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or a first answer slowed by a busy machine: the deadline bounds it
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"/readyz never answered 200:\n{''.join(stderr)[-3000:]}")
        time.sleep(0.25)
    yield {
        "base": base,
        "proxy": proxy,
        "port": port,
        "stdout": stdout,
        "stderr": stderr,
        "postgres": postgres,
    }
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_entrypoint_migrates_creates_a_key_and_serves_ready(deployed):
    base, proxy = deployed["base"], deployed["proxy"]
    ready = proxy.get(f"{base}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "cache": "ok", "signing_key": "ok"},
    }
    assert len(proxy.get(f"{base}/jwks", timeout=5).json()["keys"]) >= 1
    # The https issuer, whatever address the request reached gunicorn on.
    discovery = proxy.get(f"{base}/.well-known/openid-configuration", timeout=5).json()
    assert discovery["issuer"] == ISSUER
    assert discovery["token_endpoint"] == f"{ISSUER}/token"


def test_static_files_are_served_by_whitenoise(deployed):
    # DEBUG is off and no URL serves static files: only WhiteNoise (from collectstatic's output) can.
    response = deployed["proxy"].get(f"{deployed['base']}/static/signet/signet.css", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.content == (ROOT / "static/signet/signet.css").read_bytes()
    assert "max-age" in response.headers["Cache-Control"]


def test_behind_the_proxy_https_is_enforced_and_cookies_are_secure(deployed):
    base, proxy = deployed["base"], deployed["proxy"]
    login = proxy.get(f"{base}/accounts/login/", timeout=5)
    assert login.status_code == 200
    assert login.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "secure" in login.headers["Set-Cookie"].lower()  # the CSRF cookie
    # A request Caddy did not mark as https (someone reaching the container directly) is sent to https.
    plain = requests.get(
        f"{base}/accounts/login/", headers={"Host": DOMAIN}, allow_redirects=False, timeout=5
    )
    assert plain.status_code == 301 and plain.headers["Location"] == f"{ISSUER}/accounts/login/"
    # Only the domain is served.
    assert requests.get(f"{base}/readyz", headers={"Host": "evil.example"}, timeout=5).status_code == 400


def test_the_compose_healthcheck_passes(deployed):
    [_, python, flag, code] = COMPOSE["services"]["provider"]["healthcheck"]["test"]
    assert (python, flag) == ("python", "-c")
    env = {**compose_environment("provider", deployed["postgres"]), "SIGNET_READ_DOT_ENV": "false"}
    # The container's port 8000 is this test's free port.
    code = code.replace("127.0.0.1:8000", f"127.0.0.1:{deployed['port']}")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def test_the_production_environment_passes_check_deploy(deployed):
    env = compose_environment("provider", deployed["postgres"])
    env["DJANGO_SETTINGS_MODULE"] = "provider.settings"
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # The one warning left is HSTS preload, which an operator turns on deliberately (README).
    warnings = set(re.findall(r"\((\S+\.W\d+)\)", result.stdout + result.stderr))
    assert warnings <= {"security.W021"}, result.stdout + result.stderr


def test_the_jobs_container_purges_and_keeps_the_key_schedule_then_stops_on_sigterm(deployed):
    env = compose_environment("jobs", deployed["postgres"])
    process, stdout, stderr = start_entrypoint("jobs", env)
    try:
        deadline = time.monotonic() + 120
        while "not due: nothing rotated" not in "".join(stdout):
            assert process.poll() is None, "".join(stderr)[-3000:]
            assert time.monotonic() < deadline, "".join(stdout + stderr)[-3000:]
            time.sleep(0.2)
        output = "".join(stdout)
        assert re.search(r"^\s+\d+\s+\S+", output, re.M), output  # purge_tokens' counts
        assert "failed" not in "".join(stderr)
        # Sleeping until the next hour: docker stop's SIGTERM ends it at once, cleanly.
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()


def manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_backup_restores_with_the_same_key_encryption_key_and_only_with_it(deployed, tmp_path):
    """The README's pg_dump and pg_restore (without `docker compose exec -T postgres`), onto a new server."""
    postgres = deployed["postgres"]
    dump = tmp_path / "signet.dump"
    tool = {name: str(postgres.bindir / name) for name in ("pg_dump", "pg_restore")}
    connect = ["-h", "127.0.0.1", "-p", str(postgres.port), "-U", "postgres"]
    with dump.open("wb") as out:
        subprocess.run([tool["pg_dump"], *connect, "-Fc", "postgres"], stdout=out, check=True, timeout=120)
    postgres.execute("DROP DATABASE IF EXISTS restored")
    postgres.execute("CREATE DATABASE restored")
    with dump.open("rb") as backup:
        subprocess.run(
            [tool["pg_restore"], *connect, "-d", "restored", "--clean", "--if-exists", "--no-owner"],
            stdin=backup,
            check=True,
            timeout=120,
        )
    env = {**compose_environment("provider", postgres), "DATABASE_URL": postgres.url("restored")}
    published = {
        key["kid"] for key in deployed["proxy"].get(f"{deployed['base']}/jwks", timeout=5).json()["keys"]
    }
    listed = manage(env, "keys", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {key["kid"] for key in json.loads(listed.stdout)} == published
    # Every private key opens with the key-encryption key kept beside the dump...
    kept = manage(env, "check", "--database", "default")
    assert kept.returncode == 0 and "keys.E007" not in kept.stderr, kept.stderr
    # ...and with no other: without it nothing can be signed (README, Backups and restore).
    lost = manage(
        {**env, "SIGNET_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32)}, "check", "--database", "default"
    )
    assert lost.returncode != 0 and "keys.E007" in lost.stderr, lost.stderr


def test_one_json_log_line_per_request_without_query_strings(deployed):
    base, proxy = deployed["base"], deployed["proxy"]
    secret_state = "state-" + secrets.token_urlsafe(12)
    response = proxy.get(
        f"{base}/authorize",
        params={"client_id": "unknown", "state": secret_state},
        headers={"X-Request-ID": "deploy-test-0001"},
        timeout=5,
    )
    assert response.headers["X-Request-ID"] == "deploy-test-0001"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        entries = [json.loads(line) for line in list(deployed["stdout"]) if line.startswith("{")]
        lines = [
            e
            for e in entries
            if e.get("request_id") == "deploy-test-0001" and e["logger"] == "signet.request"
        ]
        if lines:
            break
        time.sleep(0.1)
    assert len(lines) == 1
    assert lines[0]["http"]["path"] == "/authorize" and lines[0]["http"]["status"] == response.status_code
    everything = "".join(deployed["stdout"]) + "".join(deployed["stderr"])
    assert secret_state not in everything


def test_readyz_turns_503_when_the_database_is_down_and_recovers_without_restart(deployed):
    base, proxy, postgres = deployed["base"], deployed["proxy"], deployed["postgres"]
    postgres.stop()
    try:
        down = proxy.get(f"{base}/readyz", timeout=10)
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
        assert down.json()["checks"]["database"] == "unreachable"
        assert proxy.get(f"{base}/healthz", timeout=5).status_code == 200  # alive, just not ready
    finally:
        postgres.start()
    deadline = time.monotonic() + 30
    while proxy.get(f"{base}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the provider did not recover after the database came back"
        time.sleep(0.2)
    assert proxy.get(f"{base}/readyz", timeout=10).json()["checks"]["database"] == "ok"
