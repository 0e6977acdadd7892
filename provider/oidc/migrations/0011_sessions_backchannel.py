# Reserved for back-channel logout (issue 18): its operations go here, so engineers working in parallel never
# create two leaf migrations. Empty until then.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("oidc", "0010_client_authentication_keys")]

    operations = []
