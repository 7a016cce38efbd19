"""NotificationEvent.kind loses its choices (issue 10): the kinds and their labels belong to
the apps that emit them and are registered with their renderers (apps.notifications.registry).
Only the field's state changes; the column and the stored values stay as they are."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0005_generic_event_subject"),
    ]

    operations = [
        migrations.AlterField(
            model_name="notificationevent",
            name="kind",
            field=models.CharField(max_length=40),
        ),
    ]
