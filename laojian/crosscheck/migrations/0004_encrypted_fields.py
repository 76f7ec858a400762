"""Issue 10 (SEC-55): the diagnosis of claimed care, a flag's evidence and an import's rejected rows encrypted at rest."""

import laojian.core.fields
from django.db import migrations

seal_claimed_care = laojian.core.fields.seal_columns("crosscheck", "ClaimedCare", "diagnosis")
seal_flags = laojian.core.fields.seal_columns("crosscheck", "Flag", "evidence")
seal_runs = laojian.core.fields.seal_columns("crosscheck", "ImportRun", "rejects")


class Migration(migrations.Migration):

    dependencies = [
        ("crosscheck", "0003_claimed_care_version"),
    ]

    operations = [
        migrations.AlterField(
            model_name="claimedcare",
            name="diagnosis",
            field=laojian.core.fields.EncryptedCharField(blank=True, max_length=200, verbose_name="diagnosis"),
        ),
        migrations.AlterField(
            model_name="flag",
            name="evidence",
            field=laojian.core.fields.EncryptedJSONField(blank=True, default=dict, verbose_name="evidence"),
        ),
        migrations.AlterField(
            model_name="importrun",
            name="rejects",
            field=laojian.core.fields.EncryptedJSONField(blank=True, default=list,
                                                         verbose_name="rejected rows (first ones)"),
        ),
        migrations.RunPython(*seal_claimed_care),
        migrations.RunPython(*seal_flags),
        migrations.RunPython(*seal_runs),
    ]
