"""A Signet deployment for the reliability suite: provider instances sharing one PostgreSQL database and
one Redis, plus the sample API, each its own gunicorn process on a free loopback port.

`Template` migrates and seeds a database once per test session; every `Deployment` starts from a
copy of it (`CREATE DATABASE … TEMPLATE …`, a file copy), so each test gets fresh state in well
under a second.
"""

import json
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.postgres import ThrowawayPostgres, free_port

from .stack import BASE_DIR, Gunicorn, RedisServer, manage, run_script

PASSWORD = "reliability passphrase 7431"
REDIRECT_URI = "https://rp.reliability.example/callback"
AUDIENCE = "https://api.reliability.example"
# Process-wide secrets of this test session: every deployment decrypts the template's keys with them.
SECRET_KEY = secrets.token_urlsafe(50)
KEY_ENCRYPTION_KEY = secrets.token_urlsafe(32)

# Variables the test runner sets for the in-process suite (pytest-env) that must not leak into the
# deployed processes, which get their configuration only from `provider_env`.
_RUNNER_VARIABLES = (
    "DJANGO_SETTINGS_MODULE",
    "DATABASE_URL",
    "REDIS_URL",
    "OIDC_ISSUER",
    "ALLOWED_HOSTS",
    "DEBUG",
    "SECRET_KEY",
    "SIGNET_",
    "RESOURCE_",
    "DATABASE_CONN_MAX_AGE",
    "LOG_LEVEL",
    "PYTEST_",
)

# The soak's settings preset: rotations every few seconds must stay invisible to the sample API, so
# JWKS caches live for two seconds and workers re-read the key ring every second; rate limits are
# lifted because all load comes from one loopback address.
SOAK_SETTINGS = {
    "SIGNET_JWKS_MAX_AGE": "2",
    "SIGNET_KEY_PREPUBLISH_SECONDS": "2",
    "SIGNET_KEY_RELOAD_SECONDS": "1",
    "SIGNET_RATELIMIT_TOKEN": "1000000/m",
    "SIGNET_RATELIMIT_INTROSPECT": "1000000/m",
}
SAMPLE_API_SOAK_SETTINGS = {
    "RESOURCE_JWKS_MIN_TTL": "1",
    "RESOURCE_JWKS_MAX_TTL": "2",
    "RESOURCE_JWKS_COOLDOWN": "1",
}


def _clean_environ():
    return {k: v for k, v in os.environ.items() if not k.startswith(_RUNNER_VARIABLES)}


def provider_env(*, database_url, issuer, redis_url="", extra=None):
    env = _clean_environ()
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "provider.settings",
            "SIGNET_READ_DOT_ENV": "false",
            "DEBUG": "false",
            "SECRET_KEY": SECRET_KEY,
            "SIGNET_KEY_ENCRYPTION_KEY": KEY_ENCRYPTION_KEY,
            "OIDC_ISSUER": issuer,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "DATABASE_CONN_MAX_AGE": "60",
            "REDIS_URL": redis_url,
            "SIGNET_SECURE_COOKIES": "false",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            **SOAK_SETTINGS,
            **(extra or {}),
        }
    )
    return env


def sample_api_available():
    return (BASE_DIR / "sample_api" / "wsgi.py").exists() and (BASE_DIR / "sample_api" / "urls.py").exists()


@dataclass
class Template:
    """A migrated, seeded database in a private cluster; deployments copy it."""

    pg: ThrowawayPostgres
    name: str
    seed: dict
    workdir: Path

    @classmethod
    def build(cls, pg, *, users=8):
        workdir = Path(tempfile.mkdtemp(prefix="signet-rel-"))
        name = "signet_rel_template"
        pg.execute(f"CREATE DATABASE {name}")
        env = provider_env(database_url=pg.url(name), issuer="http://127.0.0.1:1")
        manage("migrate", "--noinput", env=env)
        seed = run_script(
            "tests.reliability.seed",
            env=env,
            stdin=json.dumps(
                {"users": users, "password": PASSWORD, "redirect_uri": REDIRECT_URI, "audience": AUDIENCE}
            ),
        )
        return cls(pg=pg, name=name, seed=seed, workdir=workdir)

    def destroy(self):
        shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass
class Deployment:
    template: Template
    dbname: str
    instances: int = 2
    with_redis: bool = True
    with_sample_api: bool = True
    extra_env: dict = field(default_factory=dict)
    redis: RedisServer | None = None
    providers: list = field(default_factory=list)
    sample_api: Gunicorn | None = None

    @property
    def pg(self):
        return self.template.pg

    @property
    def seed(self):
        return self.template.seed

    @property
    def issuer(self):
        return self.providers[0].url

    @property
    def database_url(self):
        return self.pg.url(self.dbname)

    def env(self):
        return provider_env(
            database_url=self.database_url,
            issuer=self.issuer,
            redis_url=self.redis.url if self.redis else "",
            extra=self.extra_env,
        )

    def start(self):
        self.pg.execute(f"DROP DATABASE IF EXISTS {self.dbname}")
        self.pg.execute(f"CREATE DATABASE {self.dbname} TEMPLATE {self.template.name}")
        if self.with_redis:
            self.redis = RedisServer()
            self.redis.start()
        ports = [free_port() for _ in range(self.instances)]
        # Every instance serves the same issuer (as behind a load balancer): the first one's URL.
        self.providers = [
            Gunicorn(
                "provider.wsgi",
                env=None,
                port=port,
                log_path=self.template.workdir / f"{self.dbname}-provider-{n}.log",
            )
            for n, port in enumerate(ports)
        ]
        env = self.env()
        for provider in self.providers:
            provider.env = env
            provider.start()
        if self.with_sample_api and sample_api_available():
            sample_env = _clean_environ()
            sample_env.update(
                {
                    "DJANGO_SETTINGS_MODULE": "sample_api.settings",
                    "DEBUG": "false",
                    "SECRET_KEY": secrets.token_urlsafe(50),
                    "ALLOWED_HOSTS": "127.0.0.1,localhost",
                    "RESOURCE_ISSUER": self.issuer,
                    "RESOURCE_AUDIENCE": AUDIENCE,
                    "PYTHONUNBUFFERED": "1",
                    **SAMPLE_API_SOAK_SETTINGS,
                }
            )
            self.sample_api = Gunicorn(
                "sample_api.wsgi",
                env=sample_env,
                log_path=self.template.workdir / f"{self.dbname}-sample-api.log",
                ready_path="/hello/",
            )
            self.sample_api.start()
        return self

    def rotate_key(self):
        """`manage.py keys rotate`, as an operator (or cron) would run it next to the instances."""
        manage("keys", "rotate", env=self.env())

    def invariants(self, refresh_tokens_sha256):
        return run_script(
            "tests.reliability.invariants",
            env=self.env(),
            stdin=json.dumps({"refresh_tokens_sha256": sorted(refresh_tokens_sha256)}),
        )

    def logs(self):
        parts = [p.read_log() for p in self.providers]
        if self.sample_api is not None:
            parts.append(self.sample_api.read_log())
        return "\n".join(parts)

    def stop(self):
        for process in [*self.providers, self.sample_api]:
            if process is not None:
                process.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.pg.is_running():
            self.pg.execute(f"DROP DATABASE IF EXISTS {self.dbname} WITH (FORCE)")
