# Reserved for groups and per-client access (issue 18): its operations go here, so engineers working in parallel never
# create two leaf migrations. Empty until then.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("oidc", "0007_mfa_policy_and_amr")]

    operations = []
