# Reserved for sign-in session records (issue 18): its operations go here, so engineers working in parallel never
# create two leaf migrations. Empty until then.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_passkey_extra")]

    operations = []
