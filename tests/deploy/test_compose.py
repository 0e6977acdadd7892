"""Both compose files, read as Docker would, checked against the repository (this machine has no Docker).

deploy/docker-compose.yml is production (Caddy, provider, jobs, PostgreSQL, Redis); the top-level one is
for development. Every path they name exists, every variable they pass is read by whoever receives it,
every command they run exists, and production is https with secure cookies, no http redirect URIs and
no default for any secret. tests/provider/test_deployment.py runs the containers' commands.
"""

import re
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands, load_command_class

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = ROOT / "deploy" / "docker-compose.yml"
DEVELOPMENT = ROOT / "docker-compose.yml"
ENTRYPOINT = (ROOT / "docker-entrypoint.sh").read_text()
CADDYFILE = ROOT / "deploy" / "caddy" / "Caddyfile"
# What the postgres image reads (https://hub.docker.com/_/postgres, "Environment Variables").
POSTGRES_IMAGE_READS = {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"}
SECRETS = ("SECRET_KEY", "SIGNET_KEY_ENCRYPTION_KEY", "POSTGRES_PASSWORD", "EMAIL_URL")
REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?[-?])?([^}]*)\}")


def load(path):
    return yaml.safe_load(path.read_text())


def references(path):
    """Every ${NAME...} in a compose file: (name, operator or None, argument)."""
    return [(m.group(1), m.group(2), m.group(3)) for m in REFERENCE.finditer(path.read_text())]


def read_by_settings(*files):
    """Variable names a settings module reads: its upper-case string literals."""
    names = set()
    for name in files:
        names |= set(re.findall(r'"([A-Z][A-Z0-9_]{2,})"', (ROOT / name).read_text()))
    return names


def read_by_entrypoint():
    return set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", ENTRYPOINT))


def entrypoint_modes():
    return set(re.findall(r"^  ([a-z-]+)\)$", ENTRYPOINT, re.M))


def signet_services(compose):
    """Services built from this repository's Dockerfile (they run docker-entrypoint.sh)."""
    return {name: s for name, s in compose["services"].items() if "build" in s}


def build_of(service):
    build = service["build"]
    return (build, "Dockerfile") if isinstance(build, str) else (build["context"], build["dockerfile"])


@pytest.fixture(params=[PRODUCTION, DEVELOPMENT], ids=["production", "development"])
def compose_file(request):
    return request.param


def test_production_runs_the_proxy_provider_jobs_database_and_cache():
    services = load(PRODUCTION)["services"]
    assert set(services) == {"caddy", "provider", "jobs", "worker", "postgres", "redis"}
    assert services["provider"]["command"] == ["provider"] and services["jobs"]["command"] == ["jobs"]
    assert services["worker"]["command"] == ["worker"]
    assert services["postgres"]["image"] == "postgres:16"
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    assert set(load(PRODUCTION)["volumes"]) == {"pgdata", "caddy_data", "caddy_config"}
    # Only the proxy listens outside: the provider is reached through Caddy.
    assert [name for name, s in services.items() if "ports" in s] == ["caddy"]
    assert {"80:80", "443:443"} <= set(services["caddy"]["ports"])
    assert services["caddy"]["depends_on"]["provider"]["condition"] == "service_healthy"
    assert services["provider"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in services.values():
        assert service["restart"] == "unless-stopped"


def test_every_path_a_compose_file_names_exists(compose_file):
    compose, here = load(compose_file), compose_file.parent
    for name, service in signet_services(compose).items():
        context, dockerfile = build_of(service)
        assert (here / context / dockerfile).is_file(), name
        assert (here / context / "docker-entrypoint.sh").is_file(), name
    for name, service in compose["services"].items():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith((".", "/")):
                assert (here / source).exists(), f"{name}: {mount}"
            else:
                assert source in compose["volumes"], f"{name}: named volume {source} is not declared"
        for env_file in service.get("env_file", []):
            assert (here / env_file).is_file(), f"{name}: {env_file}"


def test_caddy_gets_its_caddyfile_and_every_file_it_imports():
    [mount] = [m for m in load(PRODUCTION)["services"]["caddy"]["volumes"] if m.startswith("./")]
    source, target, mode = mount.split(":")
    assert (target, mode) == ("/etc/caddy", "ro")
    # The caddy image runs /etc/caddy/Caddyfile.
    assert (PRODUCTION.parent / source / "Caddyfile") == CADDYFILE and CADDYFILE.is_file()
    caddyfile = CADDYFILE.read_text()
    assert re.search(r"^\{\$SIGNET_DOMAIN\} \{$", caddyfile, re.M)
    assert re.search(r"^\treverse_proxy provider:8000$", caddyfile, re.M)
    for pattern in re.findall(r"^\s*import (\S+)", caddyfile, re.M):
        folder = Path(pattern.replace("/etc/caddy", str(PRODUCTION.parent / source))).parent
        assert folder.is_dir(), pattern
    # The own-certificate example names files inside the mounted folder, which git never holds.
    example = (CADDYFILE.parent / "site.d" / "tls.caddy.example").read_text()
    assert "tls /etc/caddy/certs/fullchain.pem /etc/caddy/certs/privkey.pem" in example
    ignored = (ROOT / "deploy" / ".gitignore").read_text().split()
    assert {".env", "caddy/certs/", "caddy/site.d/*.caddy"} <= set(ignored)


def test_every_variable_passed_is_read_by_whoever_receives_it(compose_file):
    compose = load(compose_file)
    provider_reads = read_by_settings("provider/settings.py") | read_by_entrypoint()
    sample_api_reads = read_by_settings("sample_api/settings.py") | read_by_entrypoint()
    caddy_reads = set(re.findall(r"\{\$([A-Z_]+)", CADDYFILE.read_text()))
    for name, service in compose["services"].items():
        # NAME_FILE is read wherever NAME is (provider/settings.py reads either).
        passed = {name.removesuffix("_FILE") for name in service.get("environment", {})}
        if name == "sample-api":
            reads = sample_api_reads
        elif "build" in service:
            reads = provider_reads
        elif service["image"].startswith("caddy:"):
            reads = caddy_reads
        elif service["image"].startswith("postgres:"):
            reads = POSTGRES_IMAGE_READS
        else:
            reads = set()
        assert passed - reads == set(), f"{name} is passed variables nobody reads"
    assert caddy_reads <= set(compose["services"].get("caddy", {}).get("environment", caddy_reads))


def test_every_production_variable_is_in_the_operators_env_file():
    listed = dict(
        line.split("=", 1)
        for line in (ROOT / "deploy" / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    )
    used = {name for name, _, _ in references(PRODUCTION)}
    assert used == set(listed)
    # Secrets are left for the operator to generate: never a value in the example.
    for name in (*SECRETS, "SIGNET_DOMAIN"):
        assert listed[name] == "", name


def test_every_command_a_container_runs_exists(compose_file, settings):
    # Containers run the database task backend (the suite's is immediate): db_worker's parser checks it.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    for name, service in signet_services(load(compose_file)).items():
        [mode] = service["command"]
        assert mode in entrypoint_modes(), f"{name}: docker-entrypoint.sh has no {mode!r} mode"
    # Each manage.py line of the entrypoint parses with that command's own parser.
    lines = re.findall(r"python manage\.py ([^|&;>\n]+)", ENTRYPOINT)
    assert {line.split()[0] for line in lines} >= {"migrate", "collectstatic", "keys", "purge_tokens"}
    for line in lines:
        command, *args = line.split()
        assert command in get_commands(), command
        parser = load_command_class(get_commands()[command], command).create_parser("manage.py", command)
        parser.parse_args(args)  # exits (SystemExit) on an unknown action or flag


def test_production_is_https_with_secure_cookies_and_no_http_redirect_uris():
    for name, service in signet_services(load(PRODUCTION)).items():
        environment = service["environment"]
        assert environment["DEBUG"] == "false", name
        assert environment["OIDC_ISSUER"].startswith("https://${SIGNET_DOMAIN:?"), name
        assert environment["SIGNET_SECURE_COOKIES"] == "true", name
        assert environment["SIGNET_HTTP_REDIRECT_URIS"] == "false", name
        assert environment["SIGNET_TRUST_X_FORWARDED_PROTO"] == "true", name
        assert environment["SIGNET_PROXY_COUNT"] == "1", name
        assert environment["REDIS_URL"].startswith("redis://redis:"), name


def test_no_secret_has_a_default_in_production():
    found = [(name, operator) for name, operator, _ in references(PRODUCTION) if name in SECRETS]
    assert {name for name, _ in found} == set(SECRETS)
    # ${NAME:?message} everywhere: compose refuses to start while one is unset or empty.
    assert all(operator == ":?" for _, operator in found), found
    # Nor may a literal value stand in for one.
    text = PRODUCTION.read_text()
    for name in ("SECRET_KEY", "SIGNET_KEY_ENCRYPTION_KEY", "POSTGRES_PASSWORD"):
        for value in re.findall(rf"^\s*{name}: (.*)$", text, re.M):
            assert value.startswith(f"${{{name}:?"), value


def test_development_compose_says_it_is_for_development_and_points_to_deploy():
    header = DEVELOPMENT.read_text().split("\nservices:")[0]
    assert "DEVELOPMENT ONLY" in header and "deploy/docker-compose.yml" in header
    assert "Production deployment" in (ROOT / "README.md").read_text()


def test_dockerfile_copies_existing_paths_runs_as_non_root_and_keeps_secrets_out():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.M)
    for line in re.findall(r"^COPY (.+)$", dockerfile, re.M):
        for source in line.split()[:-1]:
            assert (ROOT / source).exists(), source
    users = re.findall(r"^USER (\S+)", dockerfile, re.M)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r'^ENTRYPOINT \["\./docker-entrypoint\.sh"\]$', dockerfile, re.M)
    ignored = {line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and line[0] != "#"}
    # The operator's secrets and local state never reach an image layer.
    assert {".env", "deploy", "*.sqlite3", "signet.demo.json", ".git", ".venv"} <= ignored
