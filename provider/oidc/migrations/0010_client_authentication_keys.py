# Reserved for private_key_jwt client authentication (issue 19): its operations go here, so engineers working in parallel never
# create two leaf migrations. Empty until then.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("oidc", "0009_device_authorization")]

    operations = []
