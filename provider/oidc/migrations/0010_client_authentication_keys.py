# private_key_jwt client authentication (issue 19): the client's keys and method, and the jti replay table.
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oidc", "0009_device_authorization")]

    operations = [
        migrations.AddField(
            model_name="client",
            name="token_endpoint_auth_method",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Client secret (a public client: none)"),
                    ("private_key_jwt", "private_key_jwt: a JWT signed with the client's key (no secret)"),
                ],
                default="",
                help_text="private_key_jwt needs a JWKS or a JWKS URI with the client's public keys.",
                max_length=32,
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="token_endpoint_auth_signing_alg",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Any the key allows"),
                    ("RS256", "RS256"),
                    ("PS256", "PS256"),
                    ("ES256", "ES256"),
                    ("EdDSA", "EdDSA"),
                ],
                default="",
                help_text="Only assertions signed with this algorithm are accepted.",
                max_length=8,
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="jwks",
            field=models.JSONField(
                blank=True,
                help_text='The client\'s public keys as a JWK Set ({"keys": [...]}); never a private key.',
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="jwks_uri",
            field=models.CharField(
                blank=True,
                default="",
                help_text="An https URL serving the client's JWK Set, fetched and cached (instead of a JWKS).",
                max_length=1024,
            ),
        ),
        migrations.CreateModel(
            name="ClientAssertionJti",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("jti", models.CharField(max_length=255)),
                ("expires_at", models.DateTimeField(db_index=True)),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("client", "jti"), name="oidc_client_assertion_jti_once")
                ],
            },
        ),
    ]
