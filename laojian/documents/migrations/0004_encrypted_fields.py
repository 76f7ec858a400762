"""Issue 10 (SEC-55): a document's printed values encrypted at rest; the archive's search text keeps
the ID number masked, never in full."""

import re

import laojian.core.fields
from django.db import migrations

seal_documents = laojian.core.fields.seal_columns("documents", "Document", "values")

ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def mask(apps, schema_editor):
    from laojian.core.validators import mask_id_number

    ArchivePackage = apps.get_model("documents", "ArchivePackage")
    for package in ArchivePackage.objects.only("pk", "search_text"):
        masked = ID_NUMBER.sub(lambda m: mask_id_number(m.group(0).upper()), package.search_text)
        if masked != package.search_text:
            ArchivePackage.objects.filter(pk=package.pk).update(search_text=masked)


class Migration(migrations.Migration):

    dependencies = [
        ("documents", "0003_archive"),
    ]

    operations = [
        migrations.AlterField(
            model_name="document",
            name="values",
            field=laojian.core.fields.EncryptedJSONField(default=dict, verbose_name="values printed"),
        ),
        migrations.RunPython(*seal_documents),
        migrations.RunPython(mask, migrations.RunPython.noop),
    ]
