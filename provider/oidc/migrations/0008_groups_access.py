# Groups and per-client access (issue 18): the groups claim in access tokens, and the groups a
# client's users must belong to.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("oidc", "0007_mfa_policy_and_amr"),
    ]

    operations = [
        migrations.AddField(
            model_name="client",
            name="groups_in_access_token",
            field=models.BooleanField(
                default=False,
                help_text="Add the user's groups to access tokens when the groups scope was granted.",
            ),
        ),
        migrations.AddField(
            model_name="client",
            name="allowed_groups",
            field=models.ManyToManyField(
                blank=True,
                help_text="Only members of these groups may use this client; none: every user may.",
                related_name="clients",
                to="auth.group",
            ),
        ),
    ]
