"""NAME_FILE=/path: any setting, secrets first, read from a file (Docker and Kubernetes secrets)."""

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The pytest run's own values (pyproject's env) must not reach the child.
CLEARED = {"DEBUG", "SECRET_KEY", "SIGNET_KEY_ENCRYPTION_KEY", "OIDC_ISSUER", "ALLOWED_HOSTS", "DATABASE_URL"}
PRODUCTION = {
    "DEBUG": "false",
    "OIDC_ISSUER": "https://id.example.com",
    "ALLOWED_HOSTS": "id.example.com",
    "SIGNET_READ_DOT_ENV": "false",
    "DJANGO_SETTINGS_MODULE": "provider.settings",
}
SHOW = (
    "import django, json; django.setup(); from django.conf import settings as s; "
    "print(json.dumps([s.SECRET_KEY, s.SIGNET_KEY_ENCRYPTION_KEY, s.DATABASES['default']['PASSWORD']]))"
)


def run(args, **variables):
    env = {k: v for k, v in os.environ.items() if k not in CLEARED and not k.endswith("_FILE")}
    env.update(PRODUCTION)
    env.update(variables)
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def secret_file(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content)
    path.chmod(0o600)
    return str(path)


def test_secrets_are_read_from_files_without_their_final_line_break(tmp_path):
    secret_key = secrets.token_urlsafe(50)
    kek = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    password = secrets.token_urlsafe(16)
    result = run(
        ["-c", SHOW],
        SECRET_KEY_FILE=secret_file(tmp_path, "secret_key", secret_key + "\n"),
        SIGNET_KEY_ENCRYPTION_KEY_FILE=secret_file(tmp_path, "kek", kek + "\r\n"),
        DATABASE_URL_FILE=secret_file(tmp_path, "db", f"postgres://signet:{password}@db:5432/signet\n"),
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f'["{secret_key}", "{kek}", "{password}"]'


def test_an_empty_file_variable_means_unset(tmp_path):
    # As a copied .env.example would leave it: the usual message names the variable.
    result = run(["manage.py", "check"], SECRET_KEY_FILE="", SECRET_KEY="")
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "manage.py: Set the SECRET_KEY environment variable (required unless DEBUG=true)."
    ]


def test_a_variable_and_its_file_together_are_refused(tmp_path):
    value = secrets.token_urlsafe(50)
    result = run(
        ["manage.py", "check"], SECRET_KEY=value, SECRET_KEY_FILE=secret_file(tmp_path, "secret_key", value)
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["manage.py: Set SECRET_KEY or SECRET_KEY_FILE, not both."]


def test_an_unreadable_file_is_one_line_naming_the_variable_never_its_content(tmp_path):
    missing = tmp_path / "nowhere"
    result = run(["manage.py", "check"], SECRET_KEY_FILE=str(missing))
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"manage.py: SECRET_KEY_FILE: cannot read {missing} (No such file or directory)."
    ]
