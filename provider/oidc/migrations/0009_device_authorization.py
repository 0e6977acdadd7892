# The device authorization grant (RFC 8628, issue 19).
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("oidc", "0008_groups_access"),
    ]

    operations = [
        migrations.CreateModel(
            name="DeviceAuthorization",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("device_code_checksum", models.CharField(editable=False, max_length=64, unique=True)),
                ("user_code", models.CharField(editable=False, max_length=8, unique=True)),
                ("scope", models.TextField(blank=True, default="")),
                ("resource", models.JSONField(blank=True, default=list)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "pending"),
                            ("approved", "approved"),
                            ("denied", "denied"),
                            ("used", "used"),
                        ],
                        default="pending",
                        max_length=8,
                    ),
                ),
                ("auth_time", models.PositiveBigIntegerField(blank=True, null=True)),
                ("sid", models.CharField(blank=True, default="", max_length=64)),
                ("acr", models.CharField(blank=True, default="", max_length=64)),
                ("amr", models.JSONField(blank=True, default=list)),
                ("created_at", models.DateTimeField()),
                ("expires_at", models.DateTimeField(db_index=True)),
                (
                    "interval",
                    models.PositiveIntegerField(help_text="Seconds the device must wait between polls."),
                ),
                ("last_polled_at", models.DateTimeField(blank=True, null=True)),
                (
                    "client",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="device_authorizations",
                        to=settings.OAUTH2_PROVIDER_APPLICATION_MODEL,
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="device_authorizations",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"verbose_name": "device authorization"},
        ),
    ]
