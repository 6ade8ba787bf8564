import secrets

from django.db import migrations, models

import pyrun_web.tenancy.models


def fill_external_ids(apps, schema_editor):
    Organization = apps.get_model("tenancy", "Organization")
    for org in Organization.objects.filter(aws_external_id__isnull=True):
        org.aws_external_id = f"pyrun-{secrets.token_hex(16)}"
        org.save(update_fields=["aws_external_id"])


class Migration(migrations.Migration):
    dependencies = [
        ("tenancy", "0003_organization_job_disk_bytes"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="aws_external_id",
            field=models.CharField(editable=False, max_length=64, null=True),
        ),
        migrations.RunPython(fill_external_ids, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="organization",
            name="aws_external_id",
            field=models.CharField(
                default=pyrun_web.tenancy.models.new_external_id, editable=False, max_length=64, unique=True
            ),
        ),
    ]
