"""The sample API is its own project: it imports nothing of the provider and checks its settings."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_PACKAGES = {"provider", "accounts", "keys"}


def run_python(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "sample_api.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_no_module_of_the_sample_api_imports_the_provider():
    for path in sorted((ROOT / "sample_api").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in PROVIDER_PACKAGES, f"{path.name} imports {name}"


def test_the_running_project_loads_no_provider_module_and_no_database():
    result = run_python(
        "import sys, django; django.setup();"
        "import sample_api.urls, sample_api.wsgi;"
        "from django.test import Client;"
        "assert Client(HTTP_HOST='127.0.0.1').get('/rp/').status_code == 200;"
        "from django.db import connections;"
        "print(connections['default'].settings_dict['ENGINE']);"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {PROVIDER_PACKAGES!r}))",
        DEBUG="true",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["django.db.backends.dummy", "[]"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SECRET_KEY": "s"}, "Set the RESOURCE_ISSUER environment variable"),
        ({"RESOURCE_ISSUER": "https://id.example"}, "Set the SECRET_KEY environment variable"),
        (
            {"SECRET_KEY": "s", "RESOURCE_ISSUER": "https://id.example", "RESOURCE_AUDIENCE": "a"},
            None,
        ),
        ({"DEBUG": "true", "RESOURCE_ALGORITHMS": "RS256,HS256"}, "RESOURCE_ALGORITHMS must list asymmetric"),
        ({"DEBUG": "true", "RESOURCE_ALGORITHMS": "none"}, "RESOURCE_ALGORITHMS must list asymmetric"),
        (
            {"DEBUG": "true", "RESOURCE_JWKS_MIN_TTL": "600", "RESOURCE_JWKS_MAX_TTL": "60"},
            "RESOURCE_JWKS_MIN_TTL",
        ),
        ({"DEBUG": "true", "RESOURCE_HTTP_TIMEOUT": "0"}, "RESOURCE_HTTP_TIMEOUT"),
    ],
    ids=["no-issuer", "no-secret", "production-ok", "hs256", "none", "floor-above-ceiling", "no-timeout"],
)
def test_bad_settings_stop_start_up_with_the_variable_named(env, message):
    result = run_python("import django; django.setup()", **env)

    if message is None:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode != 0
        assert message in result.stderr


def test_the_openapi_description_lists_the_endpoints_and_the_bearer_scheme(sample_api):
    response = sample_api.get("/openapi.json")

    assert response.status_code == 200
    schema = response.json()
    assert {"/hello/", "/me/", "/notes/"} <= set(schema["paths"])
    assert schema["components"]["securitySchemes"]["signetAccessToken"]["scheme"] == "bearer"
    assert schema["paths"]["/notes/"]["post"]["security"] == [{"signetAccessToken": []}]
    assert "403" in schema["paths"]["/me/"]["get"]["responses"]


def test_every_variable_the_settings_read_is_documented():
    source = (ROOT / "sample_api" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_][A-Z0-9_]*)"', source))
    read |= set(re.findall(r'_required\(\s*"([A-Z_][A-Z0-9_]*)"', source))
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## The sample API") :].split("\n## ", 1)[0]
    example = (ROOT / ".env.example").read_text()
    assert len(read) > 10, "the pattern found too few variables: the test itself is broken"
    assert {name for name in read if f"`{name}`" not in table} == set()
    assert {name for name in read if name.startswith("RESOURCE_") and name not in example} == set()
