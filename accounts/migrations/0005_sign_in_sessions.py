# Sign-in session records (issue 18): every sign-in, listed on the account page and in the admin.
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_passkey_extra")]

    operations = [
        migrations.CreateModel(
            name="SignInSession",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sid", models.CharField(editable=False, max_length=64, unique=True)),
                ("session_key", models.CharField(blank=True, default="", editable=False, max_length=40)),
                ("user_agent", models.CharField(blank=True, default="", editable=False, max_length=200)),
                ("ip_address", models.GenericIPAddressField(blank=True, editable=False, null=True)),
                (
                    "methods",
                    models.JSONField(
                        blank=True, default=list, editable=False, help_text="RFC 8176 amr values."
                    ),
                ),
                (
                    "clients",
                    models.JSONField(blank=True, default=list, editable=False, help_text="Client ids."),
                ),
                ("earlier_sids", models.JSONField(blank=True, default=list, editable=False)),
                ("started_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("last_seen_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("ended_at", models.DateTimeField(blank=True, editable=False, null=True)),
                ("end_reason", models.CharField(blank=True, default="", editable=False, max_length=32)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="sign_in_sessions",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "sign-in session",
                "ordering": ["-last_seen_at"],
                "indexes": [models.Index(fields=["user", "ended_at"], name="accounts_signin_user_live")],
            },
        ),
    ]
