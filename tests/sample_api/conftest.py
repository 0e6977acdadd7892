"""Two live servers: the provider (pytest-django's live server, in this process) and the sample API
(gunicorn, a separate OS process that reaches the provider only over HTTP)."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest
import requests
from django.core.signals import request_started

from tests.sample_api.proxy import TCPProxy

ROOT = Path(__file__).resolve().parents[2]
AUDIENCE = "https://sample-api.test"  # the sample API's identifier: the `aud` its tokens carry
# The client the sample app signs in as (sample_api/rp_views.py), registered anew by each test (rp_register).
RP_CLIENT_ID = "sample-rp"
RP_SECRET = secrets.token_urlsafe(48)


class SampleAPI:
    """A running sample API process; `url` is its base URL."""

    def __init__(self, url, process, log_path):
        self.url, self.process, self.log_path = url, process, log_path

    def get(self, path, token=None, **kw):
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.url + path, headers=headers, timeout=30, allow_redirects=False, **kw)

    def post(self, path, token=None, **kw):
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(self.url + path, headers=headers, timeout=30, allow_redirects=False, **kw)

    def log(self):
        return self.log_path.read_text(errors="replace")


def start_sample_api(tmp_path, env):
    """Start gunicorn on a socket bound here (no port race) and wait until it answers."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    log_path = tmp_path / f"sample-api-{port}.log"
    # A clean environment: nothing of the provider's test settings leaks into the other project.
    child_env = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "sample_api.settings",
        "SECRET_KEY": "sample-api-test-secret-key-0123456789abcdef",
        "ALLOWED_HOSTS": "127.0.0.1",
        "RESOURCE_AUDIENCE": AUDIENCE,
        # The audience is https, but these servers speak plain HTTP on loopback.
        "RESOURCE_SECURE_COOKIES": "false",
        **env,
    }
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "sample_api.wsgi",
                "--bind",
                f"fd://{listener.fileno()}",
                "--workers",
                "1",
                "--worker-class",
                "gthread",
                "--threads",
                "16",
                "--graceful-timeout",
                "2",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=child_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            pass_fds=[listener.fileno()],
        )
    listener.close()
    api = SampleAPI(f"http://127.0.0.1:{port}", process, log_path)
    try:
        # The socket already listens, so this waits in its backlog until the worker is up.
        assert api.get("/healthz").status_code == 200
    except Exception:
        process.kill()
        process.wait()
        raise AssertionError("the sample API did not start:\n" + api.log()) from None
    return api


def stop_sample_api(api):
    # SIGINT is gunicorn's quick shutdown: no waiting for idle keep-alive connections.
    api.process.send_signal(signal.SIGINT)
    try:
        api.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        api.process.kill()
        api.process.wait()
    print(f"--- sample API log ({api.url}) ---\n{api.log()}")  # pytest shows it when a test fails


@pytest.fixture
def sample_api_factory(issuer, tmp_path):
    """Start sample API processes pointed at the live provider; each is stopped after the test."""
    started = []

    def start(**env):
        env = {"RESOURCE_ISSUER": issuer, **{k: str(v) for k, v in env.items()}}
        api = start_sample_api(tmp_path, env)
        started.append(api)
        return api

    yield start
    for api in started:
        stop_sample_api(api)


@pytest.fixture
def sample_api(sample_api_factory):
    """The sample API with its default configuration: discovery straight from the issuer."""
    return sample_api_factory()


@pytest.fixture(scope="module")
def rp_api(live_server, tmp_path_factory):
    """One sample API process for each module that asks, its sign-in configured as client RP_CLIENT_ID.

    Each test registers that client anew (the database is new in every test, and so are the
    provider's keys: a cooldown of 0 lets the process refetch them; the cooldown is tested elsewhere).
    """
    api = start_sample_api(
        tmp_path_factory.mktemp("sample-rp"),
        {
            "RESOURCE_ISSUER": live_server.url,
            "RESOURCE_CLIENT_ID": RP_CLIENT_ID,
            "RESOURCE_CLIENT_SECRET": RP_SECRET,
            "RESOURCE_JWKS_COOLDOWN": "0",
        },
    )
    yield api
    stop_sample_api(api)


def rp_register(api, **settings):
    """Register the sample app running at `api` as the confidential client RP_CLIENT_ID; returns `api`.

    `settings`: more of client_create's arguments (a back-channel logout URI, say).
    """
    from provider.oidc.services import client_create

    client_create(
        name="Sample app",
        client_type="confidential",
        grant="authorization-code",
        client_id=RP_CLIENT_ID,
        secret=RP_SECRET,
        redirect_uris=[f"{api.url}/rp/callback/"],
        post_logout_redirect_uris=[f"{api.url}/rp/"],
        audiences=[AUDIENCE],
        **settings,
    )
    return api


class ProviderHits:
    """Requests the provider received, by path, counted where they arrive (request_started)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.paths = Counter()
        self.conditional = Counter()

    def __call__(self, sender, environ=None, **kwargs):
        with self.lock:
            self.paths[environ.get("PATH_INFO")] += 1
            if environ.get("HTTP_IF_NONE_MATCH"):
                self.conditional[environ.get("PATH_INFO")] += 1

    @property
    def jwks(self):
        with self.lock:
            return self.paths["/jwks"]


@pytest.fixture
def provider_hits():
    hits = ProviderHits()
    request_started.connect(hits, weak=False, dispatch_uid="sample-api-provider-hits")
    yield hits
    request_started.disconnect(dispatch_uid="sample-api-provider-hits")


@pytest.fixture
def proxy(live_server):
    """A TCP proxy in front of the provider that can refuse or hang connections on demand."""
    host, port = live_server.url.split("//", 1)[1].rsplit(":", 1)
    proxy = TCPProxy((host, int(port)))
    yield proxy
    proxy.close()
