# Reserved for ES256 and EdDSA signing keys (issue 19): its operations go here, so engineers working in parallel never
# create two leaf migrations. Empty until then.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("keys", "0003_retain_until_and_rotate_permission")]

    operations = []
