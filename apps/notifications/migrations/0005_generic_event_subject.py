"""Events name their subject generically (issue 10): `subject_type`/`subject_id` and a JSON
`snapshot` replace the foreign keys to incidents, updates and components, which the pipeline
must not know. Existing rows are converted in place, so pending events still deliver; the
reverse conversion restores the foreign keys."""

from django.db import migrations, models

# ComponentStatus's labels as of this migration (the dashboard shows them from the snapshot).
COMPONENT_LABELS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "under_maintenance": "Under maintenance",
}


def _incident(incident):
    return {"id": incident.public_id, "name": incident.name, "kind": incident.kind}


def forwards(apps, schema_editor):
    NotificationEvent = apps.get_model("notifications", "NotificationEvent")
    events = NotificationEvent.objects.select_related(
        "incident", "update", "component__group"
    ).order_by("id")
    for event in events.iterator(chunk_size=500):
        snapshot = dict(event.snapshot or {})
        if event.component_id:
            component = event.component
            name = (
                f"{component.group.name} - {component.name}"
                if component.group_id
                else component.name
            )
            event.subject_type, event.subject_id = "status.component", component.public_id
            snapshot["component"] = {"id": component.public_id, "name": name}
            new = snapshot.get("new_status")
            if new in COMPONENT_LABELS:
                snapshot["change"] = [
                    COMPONENT_LABELS.get(snapshot.get("old_status"), "?"),
                    COMPONENT_LABELS[new],
                ]
            if event.incident_id:
                snapshot["within"] = {
                    "type": "incidents.incident",
                    "id": event.incident.public_id,
                }
                snapshot["incident"] = _incident(event.incident)
        elif event.incident_id:
            event.subject_type = "incidents.incident"
            event.subject_id = event.incident.public_id
            snapshot["incident"] = _incident(event.incident)
            snapshot["update"] = event.update.public_id if event.update_id else None
        event.snapshot = snapshot
        event.save(update_fields=["subject_type", "subject_id", "snapshot"])


def backwards(apps, schema_editor):
    NotificationEvent = apps.get_model("notifications", "NotificationEvent")
    Incident = apps.get_model("incidents", "Incident")
    IncidentUpdate = apps.get_model("incidents", "IncidentUpdate")
    Component = apps.get_model("status", "Component")
    for event in NotificationEvent.objects.order_by("id").iterator(chunk_size=500):
        snapshot = event.snapshot or {}
        incident_id = (snapshot.get("incident") or {}).get("id")
        if incident_id:
            event.incident = Incident.objects.filter(public_id=incident_id).first()
        if snapshot.get("update"):
            event.update = IncidentUpdate.objects.filter(public_id=snapshot["update"]).first()
        if event.subject_type == "status.component":
            event.component = Component.objects.filter(public_id=event.subject_id).first()
        event.save(update_fields=["incident", "update", "component"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0004_postmortem_event_kind"),
        ("incidents", "0003_postmortem_action_item"),
        ("status", "0002_component_uptime_accounted_until"),
    ]

    operations = [
        migrations.RenameField(model_name="notificationevent", old_name="data", new_name="snapshot"),
        migrations.AddField(
            model_name="notificationevent",
            name="subject_type",
            field=models.CharField(blank=True, max_length=60),
        ),
        migrations.AddField(
            model_name="notificationevent",
            name="subject_id",
            field=models.CharField(blank=True, max_length=40),
        ),
        migrations.RunPython(forwards, backwards),
        migrations.RemoveField(model_name="notificationevent", name="component"),
        migrations.RemoveField(model_name="notificationevent", name="incident"),
        migrations.RemoveField(model_name="notificationevent", name="update"),
    ]
