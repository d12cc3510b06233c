"""The stalled-job sweep runs every minute: a killed worker's job recovers fast."""

from django.db import migrations

SCHEDULE_NAME = "generation: resume stalled jobs"


def sweep_every_minute(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name=SCHEDULE_NAME).update(minutes=1)


def sweep_every_ten_minutes(apps, schema_editor):
    Schedule = apps.get_model("django_q", "Schedule")
    Schedule.objects.filter(name=SCHEDULE_NAME).update(minutes=10)


class Migration(migrations.Migration):
    dependencies = [("generation", "0003_brief_field_limits")]

    operations = [migrations.RunPython(sweep_every_minute, sweep_every_ten_minutes)]
