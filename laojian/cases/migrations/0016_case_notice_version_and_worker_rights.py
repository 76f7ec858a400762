# SEC-61 (notice version on the case) and SEC-65 (rights requests: permission, optimistic lock of the worker).

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('cases', '0015_one_open_case_per_injury'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='worker',
            options={'permissions': [('handle_rights_request', "Can answer a person's rights request: a copy of their data, a correction")], 'verbose_name': 'worker', 'verbose_name_plural': 'workers'},
        ),
        migrations.AddField(
            model_name='case',
            name='notice_acknowledged_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='notice acknowledged at'),
        ),
        migrations.AddField(
            model_name='case',
            name='notice_version',
            field=models.CharField(blank=True, max_length=20, verbose_name='personal-information notice version'),
        ),
        migrations.AddField(
            model_name='worker',
            name='version',
            field=models.PositiveIntegerField(default=1, verbose_name='version'),
        ),
    ]
