"""Seed a throwaway provider database for the reliability suite (run as `python -m tests.reliability.seed`).

Reads a JSON object from stdin: {"users": N, "password": "...", "redirect_uri": "...", "audience": "..."}
and prints the clients and users it made as JSON. Uses Signet's own services, so the rows are the
ones an operator's `manage.py users create` / `clients create` would make.
"""

import json
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "provider.settings")
    import django

    django.setup()
    from accounts.services import user_create
    from keys.services import key_ensure_active
    from provider.oidc.services import client_create

    spec = json.load(sys.stdin)
    key_ensure_active()
    users = []
    for n in range(spec["users"]):
        email = f"load{n}@example.com"
        user_create(email=email, password=spec["password"], first_name=f"Load{n}", email_verified=True)
        users.append(email)
    rp, rp_secret = client_create(
        name="Reliability RP",
        client_type="confidential",
        grant="authorization-code",
        redirect_uris=[spec["redirect_uri"]],
        post_logout_redirect_uris=[spec["redirect_uri"] + "/signed-out"],
        scopes=["openid", "profile", "email", "offline_access"],
        audiences=[spec["audience"]],
    )
    service, service_secret = client_create(
        name="Reliability service",
        client_type="confidential",
        grant="client-credentials",
        scopes=[],
        audiences=[spec["audience"]],
    )
    # Log lines share stdout: the result is the line that starts with RESULT.
    print(
        "RESULT",
        json.dumps(
            {
                "users": users,
                "rp": {"client_id": rp.client_id, "secret": rp_secret},
                "service": {"client_id": service.client_id, "secret": service_secret},
            }
        ),
    )


if __name__ == "__main__":
    main()
