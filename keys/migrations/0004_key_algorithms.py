# ES256 and EdDSA signing keys (issue 19): one active key per algorithm instead of one in all.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("keys", "0003_retain_until_and_rotate_permission")]

    operations = [
        migrations.RemoveConstraint(model_name="signingkey", name="keys_one_active_key"),
        migrations.AddConstraint(
            model_name="signingkey",
            constraint=models.UniqueConstraint(
                condition=models.Q(("state", "active")), fields=("alg",), name="keys_one_active_key_per_alg"
            ),
        ),
    ]
