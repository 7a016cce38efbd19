"""Importing a public status page's summary.json and incidents.json (status API v2 shapes)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from apps.incidents.models import Incident, IncidentStatus, IncidentUpdate
from apps.integrations.importer.services import ImportProblem, import_statuspage, plan_import
from apps.integrations.models import ImportedObject
from apps.organizations.principals import System
from apps.status.models import Component, ComponentGroup, ComponentStatus

from ..factories import ComponentFactory


def component(cid, name, *, position, group_id=None, group=False, children=None, status=None):
    item = {
        "id": cid,
        "name": name,
        "status": status or "operational",
        "created_at": "2019-01-10T08:54:26.399-08:00",
        "updated_at": "2020-06-16T14:00:28.972-07:00",
        "position": position,
        "description": None,
        "showcase": False,
        "group_id": group_id,
        "page_id": "gpkpyklzq55q",
        "group": group,
        "only_show_if_degraded": False,
    }
    if group:
        item["components"] = children or []
    return item


def update(uid, status, body, at):
    return {
        "id": uid,
        "status": status,
        "body": body,
        "incident_id": "inc",
        "created_at": at,
        "updated_at": at,
        "display_at": at,
        "affected_components": None,
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


SUMMARY = {
    "page": {
        "id": "gpkpyklzq55q",
        "name": "Twilio",
        "url": "https://status.twilio.com",
        "time_zone": "America/Los_Angeles",
        "updated_at": "2020-06-16T14:00:29.031-07:00",
    },
    "components": [
        component(
            "s2k3h0mkqnth",
            "PROGRAMMABLE MESSAGING",
            position=1,
            group=True,
            children=["yvvy3vlp4djf", "d1j2nx64rpq3"],
        ),
        component("d1j2nx64rpq3", "MMS", position=2, group_id="s2k3h0mkqnth"),
        component(
            "yvvy3vlp4djf",
            "SMS",
            position=1,
            group_id="s2k3h0mkqnth",
            status="degraded_performance",
        ),
        component("7c6yv3vctfqv", "Studio", position=2),
    ],
    "incidents": [
        {
            "id": "4dtnnnnxnhn9",
            "name": "SMS Delivery Delays to Mozambique Movitel",
            "status": "investigating",
            "impact": "minor",
            "created_at": "2020-06-16T13:27:41.530-07:00",
            "incident_updates": [
                update("xv5y", "investigating", "Delays.", "2020-06-16T13:27:41.585-07:00")
            ],
            "components": [{"id": "yvvy3vlp4djf"}],
        }
    ],
    "scheduled_maintenances": [{"id": "9szb6ydlg10w", "name": "Carrier maintenance"}],
    "status": {"indicator": "minor", "description": "Partially Degraded Service"},
}

INCIDENTS = {
    "page": SUMMARY["page"],
    "incidents": [
        {
            "id": "r0f0vdz8vrgm",
            "name": "SMS Delivery Delays from Subset of Twilio Short Codes to US Sprint",
            "status": "resolved",
            "created_at": "2020-06-16T06:41:44.680-07:00",
            "updated_at": "2020-06-16T12:09:47.186-07:00",
            "monitoring_at": "2020-06-16T12:09:47.174-07:00",
            "resolved_at": "2020-06-16T13:09:47.174-07:00",
            "impact": "minor",
            "shortlink": "http://stspg.io/xwv6rz0r1yll",
            "started_at": "2020-06-16T06:41:44.672-07:00",
            "page_id": "gpkpyklzq55q",
            "incident_updates": [
                update(
                    "r3",
                    "resolved",
                    "This incident has been resolved.",
                    "2020-06-16T13:09:47.174-07:00",
                ),
                update(
                    "r2",
                    "monitoring",
                    "We have started seeing recovery.",
                    "2020-06-16T12:09:47.174-07:00",
                ),
                update(
                    "r1",
                    "investigating",
                    "We are working with our carrier partner.",
                    "2020-06-16T06:41:44.680-07:00",
                ),
            ],
            "components": [{"id": "yvvy3vlp4djf"}, {"id": "d1j2nx64rpq3"}],
            "reminder_intervals": None,
        },
        {
            "id": "pm000000001",
            "name": "Studio outage",
            "status": "postmortem",
            "impact": "critical",
            "incident_updates": [
                update("p2", "postmortem", "Postmortem: a bad deploy.", "2020-05-02T10:00:00.000Z"),
                update("p1", "investigating", "Studio is down.", "2020-05-01T10:00:00.000Z"),
            ],
            "components": [{"id": "7c6yv3vctfqv"}],
        },
    ],
}


def counts(org) -> tuple[int, int, int, int]:
    return (
        ComponentGroup.objects.for_org(org).count(),
        Component.objects.for_org(org).count(),
        Incident.objects.for_org(org).count(),
        IncidentUpdate.objects.for_org(org).count(),
    )


def test_a_dry_run_lists_what_would_be_created_and_writes_nothing(org):
    plan = plan_import(org, SUMMARY, INCIDENTS)

    assert plan.ok
    assert plan.counts() == {"groups": 1, "components": 3, "incidents": 2, "updates": 5}
    assert [c.name for c in plan.components] == ["MMS", "SMS", "Studio"]
    assert any("still open" in note for note in plan.notes)
    assert any("maintenance" in note for note in plan.notes)
    assert counts(org) == (0, 0, 0, 0)


def test_import_creates_groups_components_and_past_incidents_with_their_times(org):
    result = import_statuspage(org, SUMMARY, INCIDENTS, actor=System("test"))

    assert (result.groups, result.components, result.incidents) == (1, 3, 2)
    group = ComponentGroup.objects.for_org(org).get()
    assert group.name == "PROGRAMMABLE MESSAGING"
    # Children in the export's position order, not file order.
    assert [c.name for c in group.components.order_by("position")] == ["SMS", "MMS"]
    sms = Component.objects.for_org(org).get(name="SMS")
    assert sms.status == ComponentStatus.DEGRADED_PERFORMANCE
    incident = Incident.objects.for_org(org).get(name__startswith="SMS Delivery Delays from")
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.started_at == datetime(2020, 6, 16, 13, 41, 44, 680000, tzinfo=UTC)
    assert incident.resolved_at == datetime(2020, 6, 16, 20, 9, 47, 174000, tzinfo=UTC)
    assert set(incident.components.values_list("name", flat=True)) == {"SMS", "MMS"}
    assert list(incident.updates.values_list("status", flat=True)) == [
        "resolved",
        "monitoring",
        "investigating",
    ]
    postmortem = Incident.objects.for_org(org).get(name="Studio outage")
    assert postmortem.impact == "critical"
    assert postmortem.updates.first().body == "Postmortem: a bad deploy."


def test_importing_the_same_files_twice_creates_nothing_new(org):
    import_statuspage(org, SUMMARY, INCIDENTS, actor=System("test"))
    before = counts(org)

    second = import_statuspage(org, SUMMARY, INCIDENTS, actor=System("test"))

    assert (second.groups, second.components, second.incidents) == (0, 0, 0)
    assert counts(org) == before
    assert plan_import(org, SUMMARY, INCIDENTS).counts() == {
        "groups": 0,
        "components": 0,
        "incidents": 0,
        "updates": 0,
    }


def test_components_made_by_hand_are_matched_by_name(org):
    ComponentFactory(organization=org, name="studio")

    import_statuspage(org, SUMMARY, None, actor=System("test"))

    assert Component.objects.for_org(org).filter(name__iexact="studio").count() == 1
    assert ImportedObject.objects.for_org(org).filter(source_id="7c6yv3vctfqv").exists()


@pytest.mark.parametrize(
    ("breakage", "problem"),
    [
        (lambda s, i: s.update(components="nope"), "no “components” list"),
        (lambda s, i: s["components"][3].update(status="on_fire"), "unknown status 'on_fire'"),
        (lambda s, i: s["components"][1].update(group_id="missing"), "not in the file"),
        (lambda s, i: s["components"][3].update(name=""), "has no name"),
        (lambda s, i: i["incidents"][0].update(impact="huge"), "unknown impact"),
        (
            lambda s, i: i["incidents"][1]["incident_updates"][0].update(
                display_at="soon", created_at=None
            ),
            "no valid time",
        ),
        (lambda s, i: i.update(incidents=None), "incidents.json has no “incidents” list"),
    ],
)
def test_broken_files_are_reported_and_nothing_is_imported(org, breakage, problem):
    summary, incidents = copy.deepcopy(SUMMARY), copy.deepcopy(INCIDENTS)
    breakage(summary, incidents)

    with pytest.raises(ImportProblem) as excinfo:
        import_statuspage(org, summary, incidents, actor=System("test"))

    assert any(problem in p for p in excinfo.value.problems), excinfo.value.problems
    assert counts(org) == (0, 0, 0, 0)
    assert ImportedObject.objects.count() == 0


def test_the_management_command_dry_run_and_import(org, tmp_path, capsys):
    summary_file, incidents_file = tmp_path / "summary.json", tmp_path / "incidents.json"
    summary_file.write_text(json.dumps(SUMMARY))
    incidents_file.write_text(json.dumps(INCIDENTS))

    call_command("import_statuspage", "--org", org.slug, str(summary_file), "--dry-run")
    assert "Dry run" in capsys.readouterr().out
    assert counts(org) == (0, 0, 0, 0)

    call_command("import_statuspage", "--org", org.slug, str(summary_file), str(incidents_file))
    assert "Imported 1 group(s), 3 component(s) and 2 incident(s)" in capsys.readouterr().out


def test_the_management_command_refuses_a_broken_file(org, tmp_path):
    broken = tmp_path / "summary.json"
    broken.write_text("{nope")

    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("import_statuspage", "--org", org.slug, str(broken))
    assert counts(org) == (0, 0, 0, 0)


def test_groups_and_loose_components_keep_the_exports_top_level_order(org):
    summary = copy.deepcopy(SUMMARY)
    summary["components"][0]["position"] = 3  # the group after Studio (position 2)

    import_statuspage(org, summary, None, actor=System("test"))

    studio = Component.objects.for_org(org).get(name="Studio")
    assert studio.position < ComponentGroup.objects.for_org(org).get().position
