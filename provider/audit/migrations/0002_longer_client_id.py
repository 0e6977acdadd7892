# AuditEvent.client_id as long as a client id may be (issue 19): a client ID metadata document's URL
# is its client's id, up to Client.client_id's 255 characters.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]
    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="client_id",
            field=models.CharField(blank=True, db_index=True, default="", max_length=255),
        ),
    ]
