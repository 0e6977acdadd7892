# Dynamic client registration (issue 19): the registration access token's checksum and the metadata a
# registered client keeps (RFC 7591/7592), and the operators' initial access tokens.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oidc", "0012_signing_algorithms")]

    operations = [
        migrations.CreateModel(
            name="InitialAccessToken",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("checksum", models.CharField(editable=False, max_length=64, unique=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField(db_index=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                (
                    "client_id",
                    models.CharField(
                        blank=True, default="", help_text="The client it registered.", max_length=100
                    ),
                ),
                ("created_by", models.CharField(blank=True, default="", max_length=150)),
            ],
            options={"verbose_name": "initial access token"},
        ),
        migrations.AddField(
            model_name="client",
            name="registration_access_token_checksum",
            field=models.CharField(blank=True, default="", editable=False, max_length=64),
        ),
        migrations.AddField(
            model_name="client",
            name="registration_metadata",
            field=models.JSONField(blank=True, editable=False, null=True),
        ),
    ]
