"""Migration 0005: open alert groups start with `published` = what their firing alerts want, so
the first alert after the upgrade that changes nothing visible posts nothing."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("integrations", "0004_api_key_can_import_confirmed")]
AFTER = [("integrations", "0005_alert_coalescing")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.mark.django_db(transaction=True)
def test_open_groups_get_what_their_firing_alerts_want_as_published():
    old = migrate(BEFORE)
    organization = old.get_model("organizations", "Organization").objects.create(
        name="Acme Cloud", slug="acme"
    )
    integration = old.get_model("integrations", "AlertIntegration").objects.create(
        organization=organization, kind="alertmanager", name="Prometheus", token_hash="x" * 64
    )
    groups = old.get_model("integrations", "AlertGroupState").objects
    alerts = {
        "a1": {
            "status": "firing",
            "components": {"api": "partial_outage", "web": "degraded_performance"},
        },
        "a2": {"status": "firing", "components": {"api": "major_outage"}},
        "a3": {"status": "resolved", "components": {"db": "major_outage"}},
    }
    open_group = groups.create(
        organization=organization, integration=integration, group_key="g1", group_key_hash="1",
        state="open", alerts=alerts,
    )  # fmt: skip
    closed_group = groups.create(
        organization=organization, integration=integration, group_key="g2", group_key_hash="2",
        state="closed", alerts=alerts,
    )  # fmt: skip

    new = migrate(AFTER)

    groups = new.get_model("integrations", "AlertGroupState").objects
    migrated = groups.get(pk=open_group.pk)
    assert migrated.published == {"api": "major_outage", "web": "degraded_performance"}
    assert migrated.last_posted_at == migrated.updated_at
    assert migrated.post_due_at is None
    assert groups.get(pk=closed_group.pk).published == {}
    assert (
        new.get_model("integrations", "AlertIntegration").objects.get().update_window_minutes == 5
    )
