"""Issue 10 (SEC-55): the family's phone and the local doctor's findings encrypted at rest."""

import laojian.core.fields
from django.db import migrations

seal_appointments = laojian.core.fields.seal_columns("sittings", "Appointment", "family_phone", "local_findings")


class Migration(migrations.Migration):

    dependencies = [
        ("sittings", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="appointment",
            name="family_phone",
            field=laojian.core.fields.EncryptedCharField(blank=True, max_length=20, verbose_name="family contact phone"),
        ),
        migrations.AlterField(
            model_name="appointment",
            name="local_findings",
            field=laojian.core.fields.EncryptedTextField(blank=True, verbose_name="local doctor's findings"),
        ),
        migrations.RunPython(*seal_appointments),
    ]
