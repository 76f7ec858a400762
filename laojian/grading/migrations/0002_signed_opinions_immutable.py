"""The database refuses to change a signed opinion or the injuries and findings of one.

Model methods already refuse; these triggers also stop a bulk ``update()`` or hand-written SQL.
UPDATE only: rows of signed opinions are never deleted by the application (the model refuses),
and the test flush must still be able to empty the tables. Same vendor split as core 0002.
"""

from django.db import migrations

MESSAGE = "a signed opinion cannot change"
SIGNED_PARENT = "(SELECT state FROM grading_opinion WHERE id = OLD.opinion_id) = 'signed'"

SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS grading_opinion_signed_no_update BEFORE UPDATE ON grading_opinion
    WHEN OLD.state = 'signed' BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    *(f"""CREATE TRIGGER IF NOT EXISTS grading_{table}_signed_no_update BEFORE UPDATE ON grading_{table}
    WHEN {SIGNED_PARENT} BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""" for table in ("item", "finding")),
]
SQLITE_REMOVE = [f"DROP TRIGGER IF EXISTS grading_{t}_signed_no_update;" for t in ("opinion", "item", "finding")]

POSTGRESQL_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION grading_opinion_signed_no_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.state = 'signed' THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END;
    $$;""",
    f"""CREATE OR REPLACE FUNCTION grading_opinion_part_signed_no_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF {SIGNED_PARENT} THEN
            RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN NEW;
    END;
    $$;""",
    "DROP TRIGGER IF EXISTS grading_opinion_signed_no_update ON grading_opinion;",
    """CREATE TRIGGER grading_opinion_signed_no_update BEFORE UPDATE ON grading_opinion
    FOR EACH ROW EXECUTE FUNCTION grading_opinion_signed_no_update();""",
    *(stmt for table in ("item", "finding") for stmt in (
        f"DROP TRIGGER IF EXISTS grading_{table}_signed_no_update ON grading_{table};",
        f"""CREATE TRIGGER grading_{table}_signed_no_update BEFORE UPDATE ON grading_{table}
        FOR EACH ROW EXECUTE FUNCTION grading_opinion_part_signed_no_update();""")),
]
POSTGRESQL_REMOVE = [
    *(f"DROP TRIGGER IF EXISTS grading_{t}_signed_no_update ON grading_{t};" for t in ("opinion", "item", "finding")),
    "DROP FUNCTION IF EXISTS grading_opinion_signed_no_update();",
    "DROP FUNCTION IF EXISTS grading_opinion_part_signed_no_update();",
]

INSTALL = {"sqlite": SQLITE_INSTALL, "postgresql": POSTGRESQL_INSTALL}
REMOVE = {"sqlite": SQLITE_REMOVE, "postgresql": POSTGRESQL_REMOVE}


def _run(statements_by_vendor, schema_editor):
    for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
        schema_editor.execute(statement, params=None)


def install(apps, schema_editor):
    _run(INSTALL, schema_editor)


def remove(apps, schema_editor):
    _run(REMOVE, schema_editor)


class Migration(migrations.Migration):

    dependencies = [
        ("grading", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(install, remove, elidable=False),
    ]
