import json
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import user_create
from keys.services import key_maintain

from ...models import Client
from ...services import client_create

DEMO_EMAIL = "demo@example.com"
DEMO_CLIENT_ID = "signet-demo-client"


class Command(BaseCommand):
    help = (
        "Development only (DEBUG=true): make sure a signing key, a demo user and a demo confidential "
        "client for the sample API at --sample-api exist, then print how to use them. A second run reuses "
        "them, moving the client's redirect URIs and audience to the sample API's address."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--credentials-file",
            default=str(settings.BASE_DIR / "signet.demo.json"),
            help="where the demo password, client secret and issuer are kept between runs (git-ignored)",
        )
        parser.add_argument("--sample-api", default="http://127.0.0.1:8001", help="the sample API's base URL")

    def handle(self, credentials_file, sample_api, **options):
        if not settings.DEBUG:
            raise CommandError("demo creates well-known credentials and runs only with DEBUG=true")
        sample_api = sample_api.rstrip("/")
        stored = _load(credentials_file)
        # What the container does at start (`keys rotate --if-due`): reads never create keys.
        key = key_maintain().active

        User = get_user_model()
        if not User.objects.filter(email__iexact=DEMO_EMAIL).exists() or "password" not in stored:
            User.objects.filter(email__iexact=DEMO_EMAIL).delete()
            stored["password"] = secrets.token_urlsafe(12)
            user_create(
                email=DEMO_EMAIL,
                password=stored["password"],
                first_name="Demo",
                last_name="User",
                email_verified=True,
            )
        if not Client.objects.filter(client_id=DEMO_CLIENT_ID).exists() or "client_secret" not in stored:
            Client.objects.filter(client_id=DEMO_CLIENT_ID).delete()
            _, stored["client_secret"] = client_create(
                name="Signet demo app",
                client_type="confidential",
                grant="authorization-code",
                client_id=DEMO_CLIENT_ID,
                **_sample_api_uris(sample_api),
                **_sample_api_backchannel(sample_api),
            )
        else:
            # The sample API may have moved (SAMPLE_API_BIND): its sign-in must still be allowed back.
            Client.objects.filter(client_id=DEMO_CLIENT_ID).update(
                **{field: " ".join(uris) for field, uris in _sample_api_uris(sample_api).items()},
                **_sample_api_backchannel(sample_api),
            )
        # ./dev run hands the sample API this exact issuer: its tokens' `iss` must match it.
        stored["issuer"] = settings.OIDC_ISSUER
        _save(credentials_file, stored)

        issuer = settings.OIDC_ISSUER
        self.stdout.write(
            "\n".join(
                [
                    "",
                    "Signet is ready (development mode).",
                    f"  issuer         {issuer}",
                    f"  discovery      {issuer}/.well-known/openid-configuration",
                    f"  JWKS           {issuer}/jwks  (active kid {key.kid})",
                    f"  demo user      {DEMO_EMAIL} / {stored['password']}",
                    f"  demo client    client_id {DEMO_CLIENT_ID}",
                    f"                 client_secret {stored['client_secret']}",
                    f"                 redirect_uri {sample_api}/rp/callback/",
                    f"                 backchannel_logout_uri {sample_api}/rp/backchannel-logout",
                    f"  admin          {issuer}/admin/ (manage.py users create --superuser)",
                    "",
                ]
            )
        )


def _sample_api_uris(sample_api):
    """The demo client's URIs for a sample API at `sample_api` (and a local native-app callback)."""
    return {
        "redirect_uris": [f"{sample_api}/rp/callback/", "http://127.0.0.1:8765/callback"],
        "post_logout_redirect_uris": [f"{sample_api}/rp/", "http://127.0.0.1:8765/"],
        "audiences": [sample_api],
    }


def _sample_api_backchannel(sample_api):
    """The sample's back-channel logout endpoint: ending a sign-in at Signet signs it out there too."""
    return {
        "backchannel_logout_uri": f"{sample_api}/rp/backchannel-logout",
        "backchannel_logout_session_required": True,
    }


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _save(path, data):
    with open(path, "w") as f:
        json.dump(data, f)
