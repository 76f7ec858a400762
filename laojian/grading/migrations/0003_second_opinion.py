"""Opinions of a second-opinion panel (``Opinion.second_opinion``) and conclusions drafted from one.

SQLite adds a NOT NULL column by rebuilding the table, and a rebuild of ``grading_opinion`` fails
while the triggers of 0002 on items and findings name it (and would drop the opinion's own): on
SQLite they are dropped first and installed again after, as 0002 wrote them. PostgreSQL keeps its
triggers through ``ADD COLUMN``; nothing runs there.
"""

from django.db import migrations, models

MESSAGE = "a signed opinion cannot change"
SIGNED_PARENT = "(SELECT state FROM grading_opinion WHERE id = OLD.opinion_id) = 'signed'"
TABLES = ("opinion", "item", "finding")

SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS grading_opinion_signed_no_update BEFORE UPDATE ON grading_opinion
    WHEN OLD.state = 'signed' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    *(f"""CREATE TRIGGER IF NOT EXISTS grading_{table}_signed_no_update BEFORE UPDATE ON grading_{table}
    WHEN {SIGNED_PARENT} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""" for table in ("item", "finding")),
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS grading_{table}_signed_no_update;" for table in TABLES]


def _sqlite(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "sqlite":
            for statement in statements:
                schema_editor.execute(statement, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ("grading", "0002_signed_opinions_immutable"),
    ]

    operations = [
        migrations.RunPython(_sqlite(SQLITE_REMOVE), _sqlite(SQLITE_INSTALL), elidable=False),
        migrations.AddField(
            model_name="opinion",
            name="second_opinion",
            field=models.BooleanField(default=False, verbose_name="second opinion"),
        ),
        migrations.AlterField(
            model_name="conclusion",
            name="source",
            field=models.CharField(choices=[("panel", "the panel's agreeing opinions"),
                                            ("discussion", "collective discussion"),
                                            ("paper", "a paper file entered afterwards"),
                                            ("second_opinion", "the second-opinion panel's agreeing opinions")],
                                   default="panel", max_length=20, verbose_name="drafted from"),
        ),
        migrations.RunPython(_sqlite(SQLITE_INSTALL), _sqlite(SQLITE_REMOVE), elidable=False),
    ]
