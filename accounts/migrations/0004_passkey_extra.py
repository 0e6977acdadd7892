# Reserved for passkeys (issue 16) if they need more than 0002: its operations go here, so engineers working in parallel never
# create two leaf migrations. Empty until then.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_mfa_extra")]

    operations = []
