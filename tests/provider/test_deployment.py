"""Deployment as docker-compose describes it, tested without Docker (which these machines lack).

The compose file must parse and point at files and variables that exist; the provider container's
start command (docker-entrypoint.sh: migrate, collectstatic, keys rotate --if-due, gunicorn) runs here with
the compose environment against a PostgreSQL server of our own, which the last test stops and
restarts to see /readyz turn 503 and recover without a restart of the provider.
"""

import json
import os
import re
import secrets
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
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ENTRYPOINT_VARIABLES = {"HOST", "PORT", "WEB_CONCURRENCY"}


def variables_read_by(settings_file):
    """Every environment variable name a settings module mentions as a string literal."""
    return set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', (ROOT / settings_file).read_text()))


def test_compose_file_has_the_four_services_built_from_this_folder():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "redis", "provider", "sample-api"}
    for name in ("provider", "sample-api"):
        assert services[name]["build"] == "."
        assert (ROOT / "Dockerfile").is_file()
    assert services["provider"]["command"] == ["provider"]
    assert services["sample-api"]["command"] == ["sample-api"]
    entrypoint = (ROOT / "docker-entrypoint.sh").read_text()
    assert "  provider)" in entrypoint and "  sample-api)" in entrypoint
    assert os.access(ROOT / "docker-entrypoint.sh", os.X_OK)
    assert services["provider"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_environment_names_only_variables_the_apps_read():
    provider_reads = variables_read_by("provider/settings.py") | ENTRYPOINT_VARIABLES
    sample_reads = variables_read_by("sample_api/settings.py") | ENTRYPOINT_VARIABLES
    provider_env = set(COMPOSE["services"]["provider"]["environment"])
    sample_env = set(COMPOSE["services"]["sample-api"]["environment"])
    assert provider_env - provider_reads == set()
    assert sample_env - sample_reads == set()
    # Secrets have no default: compose stops with a message when they are missing.
    for name in ("SECRET_KEY", "SIGNET_KEY_ENCRYPTION_KEY"):
        assert COMPOSE["services"]["provider"]["environment"][name].startswith(f"${{{name}:?")


def test_dockerfile_copies_existing_paths_and_runs_as_non_root():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", dockerfile, re.M)
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), source
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    # Everything the provider needs at run time is copied into the image.
    for needed in (
        "provider",
        "accounts",
        "keys",
        "templates",
        "static",
        "manage.py",
        "docker-entrypoint.sh",
    ):
        assert needed in dockerfile, needed


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


@pytest.fixture(scope="module")
def deployed(postgres):
    """The provider container's start command, run here with the compose environment."""
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    shell_values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SIGNET_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
        "OIDC_ISSUER": issuer,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }
    env = {
        name: _expand(value, shell_values)
        for name, value in COMPOSE["services"]["provider"]["environment"].items()
    }
    # The compose network's host names, replaced by this machine's servers.
    env["DATABASE_URL"] = postgres.url("postgres")
    env["REDIS_URL"] = env["REDIS_URL"].replace("redis://redis:", "redis://127.0.0.1:").replace("/0", "/15")
    env.update(
        {
            "HOST": "127.0.0.1",  # never listen beyond this machine in tests
            "PORT": str(port),
            "WEB_CONCURRENCY": "1",
            "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "SIGNET_READ_DOT_ENV": "false",
            "HOME": os.environ.get("HOME", "/tmp"),
        }
    )
    process = subprocess.Popen(
        ["sh", "docker-entrypoint.sh", "provider"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = [], []
    for stream, sink in ((process.stdout, stdout), (process.stderr, stderr)):
        threading.Thread(target=lambda s=stream, k=sink: k.extend(iter(s.readline, "")), daemon=True).start()
    deadline = time.monotonic() + 180
    while True:
        if process.poll() is not None:
            pytest.fail(f"the entrypoint exited {process.returncode}:\n{''.join(stderr)[-3000:]}")
        try:
            if requests.get(f"{issuer}/readyz", timeout=2).status_code == 200:
                break
        except (requests.ConnectionError, requests.Timeout):
            pass  # not listening yet, or a first answer slowed by a busy machine: the deadline bounds it
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"/readyz never answered 200:\n{''.join(stderr)[-3000:]}")
        time.sleep(0.25)
    yield {"issuer": issuer, "stdout": stdout, "stderr": stderr, "postgres": postgres}
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def test_entrypoint_migrates_creates_a_key_and_serves_ready(deployed):
    ready = requests.get(f"{deployed['issuer']}/readyz", timeout=5)
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "cache": "ok", "signing_key": "ok"},
    }
    jwks = requests.get(f"{deployed['issuer']}/jwks", timeout=5).json()
    assert len(jwks["keys"]) >= 1


def test_static_files_are_served_by_whitenoise(deployed):
    # DEBUG is off and no URL serves static files: only WhiteNoise (from collectstatic's output) can.
    response = requests.get(f"{deployed['issuer']}/static/signet/signet.css", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert response.content == (ROOT / "static/signet/signet.css").read_bytes()
    assert "max-age" in response.headers["Cache-Control"]


def test_one_json_log_line_per_request_without_query_strings(deployed):
    secret_state = "state-" + secrets.token_urlsafe(12)
    response = requests.get(
        f"{deployed['issuer']}/authorize",
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
    issuer, postgres = deployed["issuer"], deployed["postgres"]
    postgres.stop()
    try:
        down = requests.get(f"{issuer}/readyz", timeout=10)
        assert down.status_code == 503
        assert down.json()["status"] == "unavailable"
        assert down.json()["checks"]["database"] == "unreachable"
        assert requests.get(f"{issuer}/healthz", timeout=5).status_code == 200  # alive, just not ready
    finally:
        postgres.start()
    deadline = time.monotonic() + 30
    while requests.get(f"{issuer}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, "the provider did not recover after the database came back"
        time.sleep(0.2)
    assert requests.get(f"{issuer}/readyz", timeout=10).json()["checks"]["database"] == "ok"
