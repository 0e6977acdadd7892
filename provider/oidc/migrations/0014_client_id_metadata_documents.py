# Reserved for Client ID Metadata Documents (issue 19), so that work in parallel leaves one leaf.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("oidc", "0013_dynamic_registration")]
    operations = []
