from django.conf import settings
from django.db import migrations, models
from django.db.models import Count

IN_PROGRESS = ("submitted", "correction_requested", "accepted", "reviewed", "scheduled", "examined", "difficult")


def refuse_existing_duplicates(apps, schema_editor):
    """Name the cases that break the new rule rather than fail with a bare IntegrityError."""
    Case = apps.get_model("cases", "Case")
    clashes = (Case.objects.filter(status__in=IN_PROGRESS).values("determination_id", "case_type")
               .annotate(n=Count("id")).filter(n__gt=1))
    if not clashes:
        return
    numbers = []
    for clash in clashes[:20]:
        numbers.append(" / ".join(Case.objects.filter(
            determination_id=clash["determination_id"], case_type=clash["case_type"],
            status__in=IN_PROGRESS).values_list("number", flat=True)))
    raise RuntimeError(
        "Some injuries have more than one case of the same type in progress; withdraw or terminate the extra "
        "ones, then migrate again: " + "; ".join(numbers))


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0014_encrypted_fields'),
        ('core', '0011_auditevent_committee_at_index'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(refuse_existing_duplicates, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='case',
            constraint=models.UniqueConstraint(condition=models.Q(('status__in', IN_PROGRESS)), fields=('determination', 'case_type'), name='case_one_open_per_injury_and_type', violation_error_message='This injury already has a case of this type in progress.'),
        ),
    ]
