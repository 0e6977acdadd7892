# Clients' signing algorithms (issue 19): the alg of a client's ID, access and logout tokens.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("oidc", "0011_sessions_backchannel")]

    operations = [
        migrations.AddField(
            model_name="client",
            name="id_token_signed_response_alg",
            field=models.CharField(
                choices=[("RS256", "RS256"), ("ES256", "ES256"), ("EdDSA", "EdDSA")],
                default="RS256",
                help_text="Signet signs this client's ID, access and logout tokens with this algorithm.",
                max_length=8,
            ),
        ),
    ]
