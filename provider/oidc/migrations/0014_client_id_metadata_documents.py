# Client ID Metadata Documents (issue 19) need no new column: DOT 3.4's Application, from which 0001
# created Client, already holds a 255-character client_id (a document's URL is the client's id),
# registration_source "cimd" and cimd_expires_at (when the document is fetched again). Kept, empty, so
# that the branches reserved around it keep one leaf.
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("oidc", "0013_dynamic_registration")]
    operations = []
