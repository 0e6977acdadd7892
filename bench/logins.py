"""Scenario 7's load: complete browser-style logins, run as its own process by bench/run.py.

Each login is what a person's browser does: GET /authorize (fresh cookies) → the login form →
POST email + password (Argon2) → back to /authorize → the consent page (prompt=consent) → POST allow →
the redirect with the code → the relying party's code exchange at the token endpoint (PKCE).
Prints one JSON line: {"logins": N, "failures": N, "seconds": S}.
"""

import argparse
import base64
import hashlib
import json
import secrets
import sys
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.browser import Browser, forms, query  # noqa: E402 - the tests' scripted browser


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def one_login(metadata, issuer, fixtures, email):
    client = fixtures["login"]
    browser = Browser(issuer)
    verifier, challenge = pkce_pair()
    page = browser.get(
        metadata["authorization_endpoint"],
        params={
            "response_type": "code",
            "client_id": client["client_id"],
            "redirect_uri": fixtures["redirect_uri"],
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(12),
            "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "prompt": "consent",
        },
    )
    page = browser.login(page, email, fixtures["password"])
    if page.status_code == 200 and any("allow" in f["buttons"] for f in forms(page.text)):
        page = browser.consent(page, allow=True)
    location = page.headers.get("Location", "")
    if not location.startswith(fixtures["redirect_uri"]):
        raise RuntimeError(f"login ended at {page.status_code} {location or page.url}")
    code = query(location)["code"]
    token = requests.post(
        metadata["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": fixtures["redirect_uri"],
            "code_verifier": verifier,
        },
        auth=(client["client_id"], client["client_secret"]),
        timeout=30,
    )
    if token.status_code != 200 or "id_token" not in token.json():
        raise RuntimeError(f"token endpoint answered {token.status_code}: {token.text[:200]}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--fixtures", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    if not args.issuer.startswith(("http://127.", "http://localhost")):
        sys.exit("loopback issuers only")
    fixtures = json.loads(Path(args.fixtures).read_text())
    metadata = requests.get(args.issuer + "/.well-known/openid-configuration", timeout=10).json()
    counts = {"logins": 0, "failures": 0}
    errors = []
    lock = threading.Lock()
    deadline = time.monotonic() + args.seconds

    def worker(index):
        emails = fixtures["emails"]
        n = 0
        while time.monotonic() < deadline:
            email = emails[(index + n * args.concurrency) % len(emails)]
            n += 1
            try:
                one_login(metadata, args.issuer, fixtures, email)
                key = "logins"
            except Exception as e:  # counted and reported, never hidden
                key = "failures"
                if len(errors) < 3:
                    errors.append(repr(e)[:300])
            with lock:
                counts[key] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(json.dumps({**counts, "seconds": time.monotonic() - start, "errors": errors}))


if __name__ == "__main__":
    main()
