# Reserved for AuditEvent.client_id as long as a client id may be (issue 19), so that work in
# parallel leaves one leaf.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = []
