"""The servers under test: Signet under gunicorn, the node peer, and the sample API; started and measured.

Each server knows its process tree (for CPU accounting), its endpoints (read from its own discovery
document) and how to mint one-time authorization codes for the code-exchange scenarios.
"""

import base64
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

from . import procstat

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PEER_DIR = BENCH / "peer"
VENV_BIN = Path(sys.executable).parent


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def basic(client_id, secret):
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def wait_http(url, *, timeout=60, proc=None, log=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = Path(log).read_text()[-3000:] if log else ""
            raise RuntimeError(f"server exited with {proc.returncode} while starting:\n{tail}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def start_gunicorn(app, server):
    """gunicorn for one benchmarked Django project: gthread workers on loopback, output to its log."""
    log = open(server.log_path, "w")  # noqa: SIM115 - kept open for the server's lifetime
    return subprocess.Popen(
        [
            str(VENV_BIN / "gunicorn"),
            app,
            "--bind",
            f"127.0.0.1:{server.port}",
            "--workers",
            str(server.workers),
            "--worker-class",
            "gthread",
            "--threads",
            str(server.threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
            *(["-c", server.gunicorn_config] if server.gunicorn_config else []),
        ],
        cwd=ROOT,
        env=server.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


class Server:
    name = "server"
    proc = None
    log_path = None
    gunicorn_config = None  # a gunicorn settings file, for the servers whose command line has one

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def cpu_seconds(self):
        """CPU time of the whole server process tree (master and workers)."""
        return procstat.tree_cpu_seconds(self.pid)

    def db_cpu_seconds(self):
        return 0.0

    def worker_pids(self):
        return [self.pid]

    def discover(self):
        self.metadata = requests.get(self.url + "/.well-known/openid-configuration", timeout=10).json()
        return self.metadata

    def path(self, endpoint):
        """Path of an endpoint named in the discovery document, e.g. 'token_endpoint'.

        The path only: a second instance of a server answers on its own port with the first one's
        issuer in its metadata.
        """
        parts = urlsplit(self.metadata[endpoint])
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def exchange(self, code, creds, fixtures):
        response = requests.post(
            self.url + self.path("token_endpoint"),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": fixtures["redirect_uri"],
                "code_verifier": fixtures["code_verifier"],
            },
            headers={"Authorization": basic(creds["client_id"], creds["client_secret"])},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()


class Signet(Server):
    """Signet under gunicorn on a throwaway PostgreSQL database, with production settings (DEBUG off)."""

    name = "signet"
    # As docker-entrypoint.sh starts it: each worker's metrics in a folder of the run (off unless asked).
    gunicorn_config = "provider/gunicorn_conf.py"

    def __init__(self, *, workdir, dbname, workers, threads, redis_url, sample_api_audience=""):
        self.workdir = Path(workdir)
        self.dbname = dbname
        self.workers = workers
        self.threads = threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sample_api_audience = sample_api_audience
        self.env = {
            **os.environ,
            "DEBUG": "false",
            "SIGNET_READ_DOT_ENV": "false",  # a developer's .env must not change what is measured
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SIGNET_KEY_ENCRYPTION_KEY": secrets.token_urlsafe(32),
            "OIDC_ISSUER": self.url,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{dbname}",
            "DATABASE_CONN_MAX_AGE": "600",
            "REDIS_URL": redis_url,
            "DJANGO_SETTINGS_MODULE": "provider.settings",
            # All load comes from one address: keep the per-address limits counting (their cost is
            # part of every request) but high enough never to answer 429.
            "SIGNET_RATELIMIT_TOKEN": "100000000/m",
            "SIGNET_RATELIMIT_INTROSPECT": "100000000/m",
            # Scenario 1e's client has its tokens signed with ES256, which the ring must keep a key
            # for. On for the whole run, as on a deployment that lets clients choose: the peer's
            # JWKS holds an EC key too (bench/peer/server.mjs), so both documents stay alike.
            "SIGNET_SIGNING_ALGS": "RS256,ES256",
        }
        self.fixtures = None
        self._db_cpu = procstat.MonotonicCpu()

    # --- database -----------------------------------------------------------------------------
    def _psql(self, sql):
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
            check=True,
            capture_output=True,
        )

    def _psql_value(self, sql):
        out = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qAt", "-c", sql], capture_output=True, text=True
        )
        return out.stdout.strip()

    def create_database(self):
        """A fresh database, copied from a migrated template while the migrations are unchanged.

        Migrating from nothing takes tens of seconds on a busy 2-core machine; a template copy one.
        """
        template = f"{self.dbname}_template"
        stamp = migrations_stamp()
        self._psql(f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
        current = self._psql_value(
            f"SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '{template}'"
        )
        if current != stamp:
            self._psql(f"DROP DATABASE IF EXISTS {template} WITH (FORCE)")
            self._psql(f"CREATE DATABASE {template}")
            self.manage_on(template, "migrate", "--noinput")
            self._psql(f"COMMENT ON DATABASE {template} IS '{stamp}'")
        self._psql(f"CREATE DATABASE {self.dbname} TEMPLATE {template}")

    def drop_database(self):
        with contextlib.suppress(subprocess.CalledProcessError):
            self._psql(f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")

    def manage_on(self, dbname, *args):
        env = dict(self.env, DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{dbname}")
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr[-3000:]}")

    def fixture(self, *args):
        result = subprocess.run(
            [sys.executable, str(BENCH / "signet_fixtures.py"), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise RuntimeError(f"signet_fixtures.py {args[0]} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def prepare(self):
        self.create_database()
        self.manage_on(self.dbname, "migrate", "--noinput")  # a no-op unless the template is stale
        out = self.workdir / "signet-fixtures.json"
        self.fixture("setup", "--out", str(out), "--sample-api-audience", self.sample_api_audience)
        self.fixtures = json.loads(out.read_text())

    # --- process ------------------------------------------------------------------------------
    def start(self):
        self.log_path = self.log_path or self.workdir / "signet.log"
        self.proc = start_gunicorn("provider.wsgi:application", self)
        wait_http(self.url + "/.well-known/openid-configuration", proc=self.proc, log=self.log_path)
        self.discover()
        # Every worker loads its code and keys before the first measured round.
        for _ in range(self.workers * 4):
            requests.get(self.url + self.path("jwks_uri"), timeout=10)

    def worker_pids(self):
        return [p for p in procstat.tree(self.pid) if p != self.pid]

    def sibling(self, label, *, workers=None):
        """Another instance of this Signet: same database, keys, secrets and issuer, its own port.

        The key-encryption key must be this one's to read the signing keys, and the issuer stays
        this one's so nothing it caches in Redis differs from what the first instance caches.
        """
        other = Signet.__new__(Signet)
        other.__dict__.update(self.__dict__)
        other.label = label
        other.workers = workers or self.workers
        other.port = free_port()
        other.url = f"http://127.0.0.1:{other.port}"
        other.proc = None
        other.log_path = self.workdir / f"signet-{label}.log"
        other._db_cpu = procstat.MonotonicCpu()
        return other

    def time_to_first_token(self, creds, *, timeout=60):
        """Seconds from launching gunicorn (as start() does) to the first 200 from the token endpoint
        for a client-credentials request; the instance is left running."""
        token_url = self.url + self.path("token_endpoint")
        started = time.monotonic()
        self.proc = start_gunicorn("provider.wsgi:application", self)
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = Path(self.log_path).read_text()[-3000:]
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode} while starting:\n{tail}")
            try:
                # Once the port is bound the request waits in the backlog until a worker takes it.
                response = requests.post(
                    token_url,
                    data={"grant_type": "client_credentials"},
                    auth=(creds["client_id"], creds["client_secret"]),
                    timeout=max(1.0, deadline - time.monotonic()),
                )
                if response.status_code == 200 and "access_token" in response.json():
                    return time.monotonic() - started
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.01)
        raise RuntimeError(f"no token within {timeout}s of launching gunicorn")

    def db_cpu_seconds(self):
        """CPU of this database's backends; a backend that exits takes its seconds with it, so the
        figure is kept per backend and only ever grows (see procstat.MonotonicCpu)."""
        return self._db_cpu.update(
            {p: procstat.cpu_seconds(p) for p in procstat.postgres_backends(self.dbname)}
        )

    def key_size(self):
        jwks = requests.get(self.url + self.path("jwks_uri"), timeout=10).json()
        n = next(k for k in jwks["keys"] if k["kty"] == "RSA")["n"]
        return len(base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))) * 8

    def mint_codes(self, n, out, *, with_resource=True):
        self.fixture("codes", "--n", str(n), "--out", str(out), "--user-id", self.fixtures["user_id"])
        return out


class Peer(Server):
    """node oidc-provider, from bench/peer/ (npm ci from the committed lock file)."""

    name = "peer"

    def __init__(self, *, workdir, fixtures, key_size, lifetimes):
        self.workdir = Path(workdir)
        self.port = free_port()
        self.control_port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.control = f"http://127.0.0.1:{self.control_port}"
        self.key_size = key_size
        self.lifetimes = lifetimes
        # The same client ids, secrets, redirect URI and PKCE verifier as Signet's fixtures.
        self.fixtures = fixtures

    @staticmethod
    def install():
        """npm ci from bench/peer/package-lock.json, unless node_modules already matches it."""
        if not shutil.which("node") or not shutil.which("npm"):
            raise RuntimeError("node and npm are needed for the peer (apt-get install -y nodejs npm)")
        marker = PEER_DIR / "node_modules" / ".package-lock.json"
        lock = PEER_DIR / "package-lock.json"
        if marker.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
            return
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=PEER_DIR,
            check=True,
            capture_output=True,
        )

    def config(self):
        """What bench/peer/server.mjs reads (PEER_CONFIG): Signet's clients, user and lifetimes."""
        f = self.fixtures
        return {
            "issuer": self.url,
            "port": self.port,
            "controlPort": self.control_port,
            "keySize": self.key_size,
            "resource": f["resource"],
            "rpClientId": f["rp"]["client_id"],
            "redirectUri": f["redirect_uri"],
            "codeChallenge": _challenge(f["code_verifier"]),
            "clients": [
                {
                    "client_id": f["cc"]["client_id"],
                    "client_secret": f["cc"]["client_secret"],
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "redirect_uris": [],
                },
                {
                    "client_id": f["pkjwt"]["client_id"],
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "redirect_uris": [],
                    "token_endpoint_auth_method": "private_key_jwt",
                    "token_endpoint_auth_signing_alg": "RS256",
                    "jwks": {"keys": [f["pkjwt"]["jwk"]]},
                },
                {
                    "client_id": f["es256"]["client_id"],
                    "client_secret": f["es256"]["client_secret"],
                    "grant_types": ["client_credentials"],
                    "response_types": [],
                    "redirect_uris": [],
                },
                {
                    "client_id": f["rp"]["client_id"],
                    "client_secret": f["rp"]["client_secret"],
                    "redirect_uris": [f["redirect_uri"]],
                },
            ],
            "es256ClientIds": [f["es256"]["client_id"]],
            "account": {
                "sub": f["user_id"],
                "claims": {
                    "email": f["emails"][0],
                    "email_verified": True,
                    "name": "Bench User",
                    "given_name": "Bench",
                    "family_name": "User",
                    "updated_at": int(time.time()),
                },
            },
            "lifetimes": self.lifetimes,
        }

    def start(self):
        config_path = self.workdir / "peer-config.json"
        config_path.write_text(json.dumps(self.config()))
        self.log_path = self.workdir / "peer.log"
        log = open(self.log_path, "w")  # noqa: SIM115 - kept open for the server's lifetime
        self.proc = subprocess.Popen(
            ["node", str(PEER_DIR / "server.mjs")],
            cwd=PEER_DIR,
            env={**os.environ, "PEER_CONFIG": str(config_path), "NODE_ENV": "production"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_http(self.control + "/ready", proc=self.proc, log=self.log_path)
        self.discover()

    def mint_codes(self, n, out, *, with_resource=True):
        codes = []
        while len(codes) < n:
            batch = min(5000, n - len(codes))
            response = requests.get(
                self.control + "/codes",
                params={"n": batch, "resource": "1" if with_resource else "0"},
                timeout=120,
            )
            response.raise_for_status()
            codes += response.json()
        Path(out).write_text("".join(c + "\n" for c in codes))
        return out


class SampleApi(Server):
    """The sample resource server (sample_api/), plus the same hello view with authentication off."""

    name = "sample_api"

    def __init__(self, *, workdir, issuer, port, workers, threads, fixtures, extra_env=None):
        self.workdir = Path(workdir)
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.workers = workers
        self.threads = threads
        self.env = {
            **os.environ,
            "DEBUG": "false",
            "SIGNET_READ_DOT_ENV": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "RESOURCE_ISSUER": issuer,
            "RESOURCE_AUDIENCE": self.url,
            "RESOURCE_CLIENT_ID": fixtures["rp"]["client_id"],
            "RESOURCE_CLIENT_SECRET": fixtures["rp"]["client_secret"],
            "DJANGO_SETTINGS_MODULE": "bench.sample_api_settings",
            **(extra_env or {}),
        }

    @staticmethod
    def unavailable_reason():
        """Why scenario 6 cannot run yet, or None when the sample API is there."""
        for name in ("settings.py", "urls.py"):
            if not (ROOT / "sample_api" / name).exists():
                return f"sample_api/{name} does not exist yet (issue 6)"
        return None

    def start(self):
        self.log_path = self.workdir / "sample_api.log"
        self.proc = start_gunicorn("django.core.wsgi:get_wsgi_application()", self)
        wait_http(self.url + "/bench-open/hello/", proc=self.proc, log=self.log_path)

    def worker_pids(self):
        return [p for p in procstat.tree(self.pid) if p != self.pid]


def migrations_stamp():
    """A hash of every migration file Signet and its installed apps have (the template's validity)."""
    import hashlib

    import oauth2_provider

    digest = hashlib.sha256()
    files = [p for pattern in ("*/migrations/*.py", "*/*/migrations/*.py") for p in ROOT.glob(pattern)]
    files += Path(oauth2_provider.__file__).parent.glob("migrations/*.py")
    for path in sorted(f for f in files if ".venv" not in f.parts):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:32]


def _challenge(verifier):
    import hashlib

    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Floor(Server):
    """bench/floor_app.py under the same gunicorn settings as Signet, on Signet's throwaway database."""

    name = "floor"

    def __init__(self, *, signet, key_size):
        # Signet's folder, database and gunicorn settings: only the code behind the port differs.
        self.workdir, self.dbname = signet.workdir, signet.dbname
        self.workers, self.threads = signet.workers, signet.threads
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.client_id = "floor-client"
        self.client_secret = secrets.token_urlsafe(32)
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        # Shared by the floor's workers and by bearer_token(), which signs what /read verifies.
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=key_size)
        pem = self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self.env = {
            **os.environ,
            "FLOOR_DBNAME": self.dbname,
            "FLOOR_CLIENT_ID": self.client_id,
            "FLOOR_CLIENT_SECRET": self.client_secret,
            "FLOOR_KEY_SIZE": str(key_size),
            "FLOOR_KEY_PEM": pem.decode("ascii"),
        }
        self.env.pop("DJANGO_SETTINGS_MODULE", None)

    def start(self):
        subprocess.run(
            [
                "psql",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                self.dbname,
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
                "CREATE TABLE IF NOT EXISTS bench_floor_token (id bigserial PRIMARY KEY, checksum char(64)"
                " UNIQUE NOT NULL, client_id varchar(100) NOT NULL, expires timestamptz NOT NULL)",
                "-c",
                # The row /read and /introspect select.
                "INSERT INTO bench_floor_token (checksum, client_id, expires) VALUES "
                f"(repeat('f', 64), '{self.client_id}', now() + interval '1 day') ON CONFLICT DO NOTHING",
            ],
            check=True,
            capture_output=True,
        )
        self.log_path = self.workdir / "floor.log"
        self.proc = start_gunicorn("bench.floor_app:application", self)
        wait_http(self.url + "/empty", proc=self.proc, log=self.log_path)
        for _ in range(self.workers * 4):
            requests.get(self.url + "/empty", timeout=10)

    def bearer_token(self):
        """An RS256 JWT shaped like an access token, signed with the key the floor verifies with."""
        import base64
        import json
        import time

        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        def b64(data):
            return base64.urlsafe_b64encode(data).rstrip(b"=")

        now = int(time.time())
        claims = {"iss": "http://127.0.0.1", "sub": "floor-user", "aud": self.client_id}
        claims.update({"client_id": self.client_id, "iat": now, "exp": now + 3600, "scope": "openid"})
        header = b64(b'{"alg":"RS256","typ":"at+jwt","kid":"floor"}')
        signing_input = header + b"." + b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return (signing_input + b"." + b64(signature)).decode("ascii")

    def worker_pids(self):
        return [p for p in procstat.tree(self.pid) if p != self.pid]
