"""Schedule the MLflow sync: django-celery-beat runs mlops.sync_due_connections every MLFLOW_SYNC_INTERVAL_MINUTES
(default 15). The interval can be changed later in the Django admin (Periodic tasks)."""

from django.conf import settings
from django.db import migrations

TASK_NAME = "MLflow: sync every connection"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    minutes = int(getattr(settings, "MLFLOW_SYNC_INTERVAL_MINUTES", 15))
    interval, _ = IntervalSchedule.objects.get_or_create(every=minutes, period="minutes")
    PeriodicTask.objects.update_or_create(
        name=TASK_NAME,
        defaults={"task": "mlops.sync_due_connections", "interval": interval, "queue": "integrations",
                  "enabled": True, "description": "Queue an incremental sync of each enabled MLflow connection."},
    )


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("mlops", "0002_audit_capture"), ("django_celery_beat", "0019_alter_periodictasks_options")]

    operations = [migrations.RunPython(create_schedule, remove_schedule)]
