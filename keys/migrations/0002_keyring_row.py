from django.db import migrations


def create_ring(apps, schema_editor):
    apps.get_model("keys", "KeyRingLock").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("keys", "0001_initial")]
    operations = [migrations.RunPython(create_ring, migrations.RunPython.noop)]
