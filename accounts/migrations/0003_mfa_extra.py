# Reserved for multi-factor sign-in (issue 16) if it needs more than 0002: its operations go here, so engineers working in parallel never
# create two leaf migrations. Empty until then.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_second_factors")]

    operations = []
