"""Metrics under gunicorn: two workers' counters summed in one scrape, kept when a worker dies; the
gunicorn hooks (provider/gunicorn_conf.py) and the settings that go with them.

gunicorn runs as its own process on a throwaway SQLite database, with the command line the container
uses (docker-entrypoint.sh), and no PROMETHEUS_MULTIPROC_DIR: the hooks make one under TMPDIR.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from provider import gunicorn_conf
from tests.provider.test_settings import REQUIRED, _load_settings

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "metrics-scraper-secret-0123456789abcdef"
STARTUP_SECONDS = 90  # two workers importing Django on a busy 2-core machine


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def value(text, name, **labels):
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return None


def poll(predicate, *, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not within {timeout}s")


@pytest.fixture
def gunicorn(tmp_path):
    """Signet under gunicorn, two workers, metrics on; yields (url, master process, its TMPDIR)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "DATABASE_URL")}
    env.update(
        DEBUG="true",
        SIGNET_READ_DOT_ENV="false",
        DJANGO_SETTINGS_MODULE="provider.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'signet.sqlite3'}",
        OIDC_ISSUER=url,
        SIGNET_METRICS="on",
        SIGNET_METRICS_TOKEN=TOKEN,
        TMPDIR=str(temp),
    )
    for command in (["migrate", "--noinput", "-v0"], ["keys", "rotate", "--if-due"]):
        done = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True)
        assert done.returncode == 0, done.stderr.decode()[-2000:]
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed below
    master = subprocess.Popen(
        [
            *(sys.executable, "-m", "gunicorn", "provider.wsgi:application"),
            *("-c", "provider/gunicorn_conf.py", "--bind", f"127.0.0.1:{port}", "--workers", "2"),
            *("--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )

    def up():
        assert master.poll() is None, (tmp_path / "gunicorn.log").read_text()[-2000:]
        try:
            return requests.get(f"{url}/healthz", timeout=10).status_code == 200
        except requests.RequestException:
            return False

    try:
        poll(up, timeout=STARTUP_SECONDS, what="gunicorn answering")
        yield url, master, temp
    finally:
        if master.poll() is None:
            master.send_signal(signal.SIGTERM)
            try:
                master.wait(timeout=30)
            except subprocess.TimeoutExpired:
                master.kill()
                master.wait()
        log.close()


def worker_pids(master):
    children = Path(f"/proc/{master.pid}/task/{master.pid}/children").read_text().split()
    return {int(pid) for pid in children}


def scrape(url):
    response = requests.get(f"{url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text[:500]
    return response.text


def test_two_workers_are_summed_and_a_dead_workers_counts_stay(gunicorn):
    url, master, temp = gunicorn
    folders = list(temp.glob("signet-metrics-*"))
    assert len(folders) == 1, folders  # made by the master for this run
    folder = folders[0]
    # Preloaded, the first worker answers before gunicorn has forked the second.
    poll(lambda: len(worker_pids(master)) == 2, timeout=30, what="two workers")
    workers = worker_pids(master)

    def counted_by():
        return {
            int(m.group(1)) for p in folder.iterdir() if (m := re.fullmatch(r"counter_(\d+)\.db", p.name))
        }

    # New connections until both workers have answered some (the kernel picks which one accepts).
    sent = 0
    while not workers <= counted_by() or sent < 10:
        assert sent < 500, f"one worker answered all {sent} requests"
        response = requests.post(f"{url}/token", data={"grant_type": "urn:example:nothing"}, timeout=10)
        assert response.json()["error"] == "unsupported_grant_type"
        sent += 1

    labels = {"endpoint": "oauth2_provider:token", "error": "unsupported_grant_type"}
    text = scrape(url)
    assert value(text, "signet_oauth_errors_total", **labels) == sent  # whichever worker answered
    assert value(text, "signet_signing_key_active") == 1

    # A worker that dies takes nothing with it: gunicorn starts another, and the sum stays.
    os.kill(next(iter(workers)), signal.SIGKILL)
    poll(
        lambda: len(worker_pids(master)) == 2 and worker_pids(master) != workers,
        timeout=60,
        what="a new worker",
    )
    for _ in range(4):
        assert value(scrape(url), "signet_oauth_errors_total", **labels) == sent

    master.send_signal(signal.SIGTERM)
    master.wait(timeout=30)
    assert not folder.exists()  # the run's own folder goes with it


def test_each_run_starts_from_zero_in_an_operators_folder(tmp_path, monkeypatch):
    folder = tmp_path / "prometheus"
    folder.mkdir()
    (folder / "counter_4242.db").write_bytes(b"an earlier run's counts")
    (folder / "keep.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(folder))
    gunicorn_conf.prepare_metrics_folder()
    assert sorted(p.name for p in folder.iterdir()) == ["keep.txt"]
    gunicorn_conf.on_exit(None)
    assert folder.exists()  # an operator's folder is never removed


def test_without_a_folder_the_master_makes_one_and_removes_it(tmp_path, monkeypatch):
    import tempfile

    # Set, then deleted: monkeypatch undoes both, so the folder the hook names does not outlive the test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "placeholder")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gunicorn_conf.prepare_metrics_folder()
    made = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    assert made.is_dir() and made.parent == tmp_path
    gunicorn_conf.on_exit(None)
    assert not made.exists()


# --- settings -----------------------------------------------------------------------------


def test_an_empty_multiprocess_folder_means_none():
    """A .env copied from .env.example has PROMETHEUS_MULTIPROC_DIR= : prometheus_client must not see it."""
    check = "import os; print('PROMETHEUS_MULTIPROC_DIR' in os.environ)"
    result = _load_settings({**REQUIRED, "PROMETHEUS_MULTIPROC_DIR": ""}, code=check)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_a_missing_multiprocess_folder_stops_start_up(tmp_path):
    result = _load_settings({**REQUIRED, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "nowhere")})
    assert result.returncode != 0 and "PROMETHEUS_MULTIPROC_DIR is not a folder" in result.stderr


def test_a_short_metrics_token_stops_start_up():
    result = _load_settings({**REQUIRED, "SIGNET_METRICS": "on", "SIGNET_METRICS_TOKEN": "short"})
    assert result.returncode != 0 and "SIGNET_METRICS_TOKEN must be at least 24 characters" in result.stderr
    assert "short" not in result.stderr.replace("SIGNET_METRICS_TOKEN must", "")
