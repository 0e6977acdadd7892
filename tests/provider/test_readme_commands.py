"""The README's commands, run exactly as written, in a fresh copy with .env.example copied to .env.

The copy holds what a clone of this working tree would (tracked and unignored files); it shares the
suite's .venv, whose install `./dev` sees as current. Each command runs through bash with only PATH
and HOME set, as on a new machine. The docker compose lines are not run: this machine has no Docker
engine (they are covered by tests/provider/test_deployment.py's start command).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.browser import Browser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def shell_lines():
    """Every command line of the README's sh blocks, continuation lines joined."""
    for block in re.findall(r"```sh\n(.*?)```", README, re.S):
        for command in re.sub(r"\\\n\s*", "", block).splitlines():
            command = command.split("   #")[0].strip()
            if command and not command.startswith("#"):
                yield command


def operator_commands():
    """The README's manage.py commands, whatever form they take, docker's aside."""
    return [c for c in shell_lines() if "manage" in c and "docker compose" not in c]


@pytest.fixture(scope="module")
def fresh_copy(tmp_path_factory):
    copy = tmp_path_factory.mktemp("fresh") / "signet"
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        source = ROOT / name.decode()
        if source.is_file():
            target = copy / name.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    (copy / ".venv").symlink_to(ROOT / ".venv")
    # ./dev reinstalls when pyproject.toml or the lock is newer than the venv's install: not here, or
    # it would point the shared .venv's editable install at this copy.
    installed = (ROOT / ".venv" / ".installed").stat().st_mtime
    for name in ("pyproject.toml", "requirements-dev.lock"):
        os.utime(copy / name, (installed - 1, installed - 1))
    shutil.copy(copy / ".env.example", copy / ".env")
    return copy


def bash(copy, command, stdin="", extra_env=None, timeout=180):
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **(extra_env or {})}
    return subprocess.run(
        ["bash", "-c", command],
        cwd=copy,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dev_run(copy, env):
    """`./dev run --noreload` in its own process group, as a terminal would start it."""
    return subprocess.Popen(
        ["./dev", "run", "--noreload"],
        cwd=copy,
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_for(server, url):
    """The first answer from url while `./dev run` runs; fails with its output if none comes."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and server.poll() is None:
        try:
            return requests.get(url, timeout=2)
        except requests.ConnectionError:
            time.sleep(0.5)
    os.killpg(server.pid, signal.SIGTERM)
    pytest.fail(f"{url} did not answer:\n" + server.communicate(timeout=30)[0][-3000:])


def stop(server):
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
    return server.communicate(timeout=30)[0]


def test_the_run_command_serves_the_provider_with_a_copied_env_file(fresh_copy):
    port, api_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{port}"
    server = dev_run(
        fresh_copy,
        {
            "SIGNET_BIND": f"127.0.0.1:{port}",
            "SAMPLE_API_BIND": f"127.0.0.1:{api_port}",
            "OIDC_ISSUER": issuer,
        },
    )
    try:
        discovery = wait_for(server, f"{issuer}/.well-known/openid-configuration")
        assert discovery.status_code == 200
        assert discovery.json()["issuer"] == issuer
        assert requests.get(f"{issuer}/jwks", timeout=5).json()["keys"]
    finally:
        output = stop(server)
    assert "signet-demo-client" in output and "Traceback" not in output, output[-2000:]


def test_moved_ports_keep_the_demo_sign_in_working(fresh_copy):
    """SIGNET_BIND and SAMPLE_API_BIND alone: the issuer, the sample API's issuer and audience, and the
    demo client's redirect URIs all follow, so a sign-in at the sample API goes through to /me/."""
    port, api_port = free_port(), free_port()
    issuer, sample_api = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}"
    server = dev_run(
        fresh_copy, {"SIGNET_BIND": f"127.0.0.1:{port}", "SAMPLE_API_BIND": f"127.0.0.1:{api_port}"}
    )
    try:
        assert wait_for(server, f"{issuer}/.well-known/openid-configuration").json()["issuer"] == issuer
        wait_for(server, f"{sample_api}/healthz")
        browser = Browser(issuer)
        start = browser.http.get(f"{sample_api}/rp/login/", allow_redirects=False, timeout=30)
        assert start.status_code == 302, start.text[-1000:]
        assert start.headers["Location"].startswith(f"{issuer}/authorize?")
        password = json.loads((fresh_copy / "signet.demo.json").read_text())["password"]
        page = browser.login(browser.get(start.headers["Location"]), "demo@example.com", password)
        back = browser.consent(page)
        assert back.headers["Location"].startswith(f"{sample_api}/rp/callback/?"), back.text[-1000:]
        done = browser.http.get(back.headers["Location"], allow_redirects=False, timeout=30)
        assert done.status_code == 302, done.text[-1000:]
        home = browser.http.get(f"{sample_api}/rp/", timeout=30)
        # The sample API accepted the access token: its issuer and audience match this run's ports.
        assert '<strong id="me-status">200</strong>' in home.text, home.text[-2000:]
    finally:
        output = stop(server)
    assert "Traceback" not in output, output[-2000:]


def test_every_operator_command_in_the_readme_runs_as_written(fresh_copy):
    commands = operator_commands()
    assert len(commands) >= 8, commands  # the extraction itself is checked
    assert bash(fresh_copy, "./dev manage migrate --noinput").returncode == 0
    for command in commands:
        result = bash(fresh_copy, command)
        assert result.returncode == 0, f"{command}\n{result.stderr[-1500:]}"
        assert "Traceback" not in result.stderr, command
        if "check --deploy" in command:
            assert "System check identified no issues" in result.stdout, result.stdout + result.stderr


def test_without_the_required_settings_a_command_says_which_in_one_line(fresh_copy):
    # The copied .env.example leaves DEBUG false and the secrets empty: production rules apply.
    result = bash(fresh_copy, ".venv/bin/python manage.py users create --email ada@example.com")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "manage.py: Set the SECRET_KEY environment variable (required unless DEBUG=true)."
    ]


def test_an_empty_variable_counts_as_unset(fresh_copy):
    # .env.example lists OIDC_ISSUER= (empty): under DEBUG the development default applies.
    result = bash(
        fresh_copy,
        ".venv/bin/python -c 'import django; django.setup(); from django.conf import settings; "
        "print(settings.OIDC_ISSUER)'",
        extra_env={"DEBUG": "true", "DJANGO_SETTINGS_MODULE": "provider.settings", "ALLOWED_HOSTS": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "http://127.0.0.1:8000"
