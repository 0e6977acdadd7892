# Reserved for dynamic client registration (issue 19): its operations go here, so engineers working in parallel never
# create two leaf migrations. Empty until then.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("oidc", "0012_signing_algorithms")]

    operations = []
