"""Issue 10 (SEC-55): ID numbers, phones and diagnoses encrypted at rest; a blind index of the ID number."""

import laojian.core.fields
from django.db import migrations

seal_workers = laojian.core.fields.seal_columns("cases", "Worker", "id_number", "phone", index="id_number_index")
seal_determinations = laojian.core.fields.seal_columns("cases", "InjuryDetermination", "diagnosis")
seal_cases = laojian.core.fields.seal_columns("cases", "Case", "applicant_phone")


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0013_statistics_and_break_glass"),
    ]

    operations = [
        migrations.AddField(
            model_name="worker",
            name="id_number_index",
            field=laojian.core.fields.BlindIndexField(null=True, source="id_number", verbose_name="ID number index"),
        ),
        migrations.AlterField(
            model_name="worker",
            name="id_number",
            field=laojian.core.fields.EncryptedCharField(max_length=18, verbose_name="ID number"),
        ),
        migrations.AlterField(
            model_name="worker",
            name="phone",
            field=laojian.core.fields.EncryptedCharField(blank=True, max_length=20, verbose_name="phone"),
        ),
        migrations.AlterField(
            model_name="injurydetermination",
            name="diagnosis",
            field=laojian.core.fields.EncryptedTextField(verbose_name="diagnosis"),
        ),
        migrations.AlterField(
            model_name="case",
            name="applicant_phone",
            field=laojian.core.fields.EncryptedCharField(
                blank=True, help_text="For SMS about the case when the applicant has no account.", max_length=20,
                verbose_name="applicant's mobile number"),
        ),
        migrations.RunPython(*seal_workers),
        migrations.RunPython(*seal_determinations),
        migrations.RunPython(*seal_cases),
        migrations.AlterField(
            model_name="worker",
            name="id_number_index",
            field=laojian.core.fields.BlindIndexField(source="id_number", unique=True, verbose_name="ID number index"),
        ),
    ]
