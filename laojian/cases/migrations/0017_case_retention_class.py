# SEC-64: each case's retention class and the day it closed; when its personal data was anonymised.
# Cases closed before this migration get their class and closing day from their status and timeline.

from django.db import migrations, models
from django.utils import timezone

CLOSED = ("rejected", "withdrawn", "terminated", "archived")


def backfill(apps, schema_editor):
    Case = apps.get_model("cases", "Case")
    TimelineEntry = apps.get_model("cases", "TimelineEntry")
    for case in Case.objects.filter(status__in=CLOSED).iterator(chunk_size=2000):
        if case.status == "archived":
            klass = "appraised"
        elif case.status == "terminated" or case.accepted_on is not None:
            klass = "no_conclusion"
        else:
            klass = "application"
        entry = (TimelineEntry.objects.filter(case_id=case.pk, to_status=case.status).order_by("-at", "-id")
                 .values_list("at", flat=True).first())
        closed = timezone.localdate(entry or case.updated_at)
        Case.objects.filter(pk=case.pk).update(retention_class=klass, closed_on=closed)


class Migration(migrations.Migration):

    dependencies = [
        ("cases", "0016_case_notice_version_and_worker_rights"),
    ]

    operations = [
        migrations.AddField(
            model_name="case",
            name="retention_class",
            field=models.CharField(
                choices=[("open", "open (not closed yet)"), ("application", "application never accepted"),
                         ("no_conclusion", "closed without a conclusion"), ("appraised", "appraised and archived")],
                default="open", editable=False, max_length=20, verbose_name="retention class"),
        ),
        migrations.AddField(
            model_name="case",
            name="closed_on",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="closed on"),
        ),
        migrations.AddField(
            model_name="case",
            name="anonymised_on",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="anonymised on"),
        ),
        migrations.AddField(
            model_name="worker",
            name="anonymised_on",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="anonymised on"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
