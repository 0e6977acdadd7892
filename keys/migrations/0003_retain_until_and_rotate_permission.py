from datetime import timedelta

from django.conf import settings
from django.db import migrations, models


def fill_retain_until(apps, schema_editor):
    # Keys retired before this field existed keep the retention they had: the longest token lifetime
    # plus leeway, counted from their retirement.
    retention = timedelta(
        seconds=max(settings.SIGNET_ACCESS_TOKEN_LIFETIME, settings.SIGNET_ID_TOKEN_LIFETIME)
        + settings.SIGNET_KEY_RETENTION_LEEWAY_SECONDS
    )
    SigningKey = apps.get_model("keys", "SigningKey")
    for key in SigningKey.objects.filter(state="retired", retain_until__isnull=True):
        key.retain_until = (key.retired_at or key.created_at) + retention
        key.save(update_fields=["retain_until"])


class Migration(migrations.Migration):
    dependencies = [
        ("keys", "0002_keyring_row"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="signingkey",
            options={
                "ordering": ["-created_at"],
                "permissions": [("rotate_signingkey", "Can rotate and revoke signing keys")],
            },
        ),
        migrations.AddField(
            model_name="signingkey",
            name="retain_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(fill_retain_until, migrations.RunPython.noop),
    ]
