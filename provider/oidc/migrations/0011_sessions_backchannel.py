# Back-channel logout (issue 18): where a client receives logout tokens.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oidc", "0010_client_authentication_keys")]

    operations = [
        migrations.AddField(
            model_name="client",
            name="backchannel_logout_uri",
            field=models.CharField(
                blank=True,
                default="",
                help_text="Absolute https URI (no fragment) that receives logout tokens; empty for none.",
                max_length=2000,
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="backchannel_logout_session_required",
            field=models.BooleanField(
                default=False, help_text="Logout tokens must carry the sign-in's sid (they always do)."
            ),
        ),
    ]
