"""The database refuses UPDATE and DELETE on audit entries (SEC-28, SEC-50).

Row triggers, per vendor: SQLite raises ABORT; PostgreSQL raises SQLSTATE 23000 from a plpgsql
function. Both reach Django as ``IntegrityError``. TRUNCATE is deliberately not blocked (it is
what test flushes use on PostgreSQL); in production the application's role should also lack the
UPDATE, DELETE and TRUNCATE privileges on the table.

RunSQL cannot branch on the vendor, hence RunPython running vendor-specific SQL.
"""

from django.db import migrations

MESSAGE = "audit trail is append-only"

SQLITE_INSTALL = [
    f"""CREATE TRIGGER IF NOT EXISTS core_auditevent_no_update BEFORE UPDATE ON core_auditevent
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
    f"""CREATE TRIGGER IF NOT EXISTS core_auditevent_no_delete BEFORE DELETE ON core_auditevent
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;""",
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS core_auditevent_no_update;",
    "DROP TRIGGER IF EXISTS core_auditevent_no_delete;",
]

POSTGRESQL_INSTALL = [
    f"""CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
    END;
    $$;""",
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;",
    """CREATE TRIGGER core_auditevent_append_only BEFORE UPDATE OR DELETE ON core_auditevent
    FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only();""",
]
POSTGRESQL_REMOVE = [
    "DROP TRIGGER IF EXISTS core_auditevent_append_only ON core_auditevent;",
    "DROP FUNCTION IF EXISTS core_auditevent_append_only();",
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
        ("core", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(install, remove, elidable=False),
    ]
