"""py_webauthn is loaded by the first passkey request, not by every worker (bench/README.md, scenario 9)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import os, sys
os.environ["DJANGO_SETTINGS_MODULE"] = "provider.settings"
os.environ["DEBUG"] = "true"
import django
django.setup()
from django.test import Client
from django.urls import get_resolver
get_resolver().url_patterns
Client().get("/.well-known/openid-configuration")
Client().get("/accounts/login/")
print("loaded" if "webauthn" in sys.modules else "not loaded")
from accounts.passkey_views import passkeys
passkeys.SIGN_IN
print("loaded" if "webauthn" in sys.modules else "not loaded")
"""


def test_webauthn_is_imported_by_the_first_passkey_use_only():
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answers = [line for line in result.stdout.splitlines() if line in ("loaded", "not loaded")]
    assert answers == ["not loaded", "loaded"], result.stdout
