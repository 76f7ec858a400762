"""Issue 10 (SEC-55): the expert's findings and the pre-existing disability encrypted at rest."""

import laojian.core.fields
import laojian.grading.rekey
from django.db import migrations

seal_findings = laojian.core.fields.seal_columns("grading", "Finding", "text")
seal_opinions = laojian.core.fields.seal_columns("grading", "Opinion", "pre_existing")


def lift_triggers(apps, schema_editor):
    # Signed opinions are sealed too, and SQLite rebuilds the altered tables, which fails while the
    # triggers of 0002 name them: they are dropped for this migration and installed again after it.
    for statement in laojian.grading.rekey.statements("REMOVE", schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


def install_triggers(apps, schema_editor):
    for statement in laojian.grading.rekey.statements("INSTALL", schema_editor.connection.vendor):
        schema_editor.execute(statement, params=None)


def seal(apps, schema_editor):
    seal_findings[0](apps, schema_editor)
    seal_opinions[0](apps, schema_editor)


def unseal(apps, schema_editor):
    seal_findings[1](apps, schema_editor)
    seal_opinions[1](apps, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("grading", "0003_second_opinion"),
    ]

    operations = [
        migrations.RunPython(lift_triggers, install_triggers, elidable=False),
        migrations.AlterField(
            model_name="finding",
            name="text",
            field=laojian.core.fields.EncryptedTextField(verbose_name="findings"),
        ),
        migrations.AlterField(
            model_name="opinion",
            name="pre_existing",
            field=laojian.core.fields.EncryptedTextField(blank=True, verbose_name="pre-existing disability"),
        ),
        migrations.RunPython(seal, unseal),
        migrations.RunPython(install_triggers, lift_triggers, elidable=False),
    ]
