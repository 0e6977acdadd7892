"""Run as `python -m tests.reliability.sqlite_race` with RACE_ROUNDS, and DATABASE_URL naming a SQLite
file: the embedded default's database, migrated here. Each round mints one authorization code and has two
threads exchange it at the same moment; prints `RESULT` and the JSON list of each round's two
answers ("200", an OAuth error code, or the exception a server would have answered 500 with)."""

import base64
import json
import os
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlencode

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client as HttpClient  # noqa: E402

from bench import signet_fixtures as fixtures  # noqa: E402
from provider.oidc.models import Client  # noqa: E402


def exchange(body, basic, barrier, answers):
    http = HttpClient(raise_request_exception=True)
    barrier.wait()
    try:
        form = "application/x-www-form-urlencoded"
        response = http.post("/token", urlencode(body), content_type=form, HTTP_AUTHORIZATION=basic)
        answers.append("200" if response.status_code == 200 else response.json()["error"])
    except Exception as e:  # noqa: BLE001 - what the server would have answered 500 with
        answers.append(f"{type(e).__name__}: {e}")
    finally:
        connection.close()


def main(rounds):
    call_command("migrate", verbosity=0)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "seeded.json"
        fixtures.setup(users=1, out=out, sample_api_audience="")
        seeded = json.loads(out.read_text())
    client = Client.objects.get(client_id=fixtures.RP_CLIENT_ID)
    credentials = f"{seeded['rp']['client_id']}:{seeded['rp']['client_secret']}"
    basic = "Basic " + base64.b64encode(credentials.encode()).decode()
    results = []
    for _ in range(rounds):
        [code] = fixtures.mint_codes(client=client, user_id=seeded["user_id"], n=1)
        body = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": fixtures.REDIRECT_URI,
            "code_verifier": fixtures.CODE_VERIFIER,
            "resource": fixtures.RESOURCE,
        }
        barrier, answers = threading.Barrier(2), []
        threads = [threading.Thread(target=exchange, args=(body, basic, barrier, answers)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        results.append(sorted(answers))
    print("RESULT " + json.dumps(results))


if __name__ == "__main__":
    main(int(os.environ["RACE_ROUNDS"]))
