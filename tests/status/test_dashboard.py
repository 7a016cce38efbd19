"""Components dashboard: editors write, viewers read, outsiders see nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.organizations.models import AuditEntry
from apps.organizations.principals import System
from apps.status.models import Component, ComponentGroup, ComponentStatus, ComponentStatusChange
from tests.factories import ComponentFactory, ComponentGroupFactory, UptimeDayFactory


@pytest.fixture
def group(org):
    return ComponentGroupFactory(organization=org, name="Europe", position=1)


@pytest.fixture
def component(org, group):
    return ComponentFactory(organization=org, group=group, name="API", position=1)


def url(name: str, org, *args) -> str:
    return reverse(f"status:{name}", args=[org.slug, *args])


def read_urls(org, component) -> list[str]:
    return [url("components", org), url("component_history", org, component.public_id)]


def write_posts(org, component, group) -> list[tuple[str, dict]]:
    pid, gid = component.public_id, group.public_id
    return [
        (url("component_create", org), {"name": "Website"}),
        (url("starter_components", org), {"names": "Website, API"}),
        (url("component_edit", org, pid), {"name": "API v2"}),
        (url("component_set_status", org, pid), {"status": "major_outage"}),
        (url("component_move", org, pid), {"direction": "down"}),
        (url("component_delete", org, pid), {}),
        (url("group_create", org), {"name": "Asia"}),
        (url("group_edit", org, gid), {"name": "EU"}),
        (url("group_move", org, gid), {"direction": "down"}),
        (url("group_delete", org, gid), {}),
    ]


def all_urls(org, component, group) -> list[str]:
    return [
        *read_urls(org, component),
        *(u for u, _data in write_posts(org, component, group)),
        url("branding", org),
    ]


# --- permissions -----------------------------------------------------------------------------


def test_outsider_gets_404_on_every_page(client, outsider, org, component, group):
    client.force_login(outsider)

    for page in all_urls(org, component, group):
        assert client.get(page).status_code == 404, page
        assert client.post(page, {"name": "x", "status": "major_outage"}).status_code == 404, page


def test_anonymous_is_sent_to_log_in(client, org, component):
    response = client.get(url("components", org))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_viewer_reads_components_and_history(client, viewer, org, component):
    client.force_login(viewer)

    for page in read_urls(org, component):
        assert client.get(page).status_code == 200, page


def test_viewer_gets_403_on_every_write(client, viewer, org, component, group):
    client.force_login(viewer)

    for page, data in write_posts(org, component, group):
        assert client.post(page, data).status_code == 403, page
    assert client.post(url("components", org)).status_code == 403

    component.refresh_from_db()
    assert (component.name, component.status) == ("API", ComponentStatus.OPERATIONAL)
    assert not AuditEntry.objects.filter(action__startswith="component").exists()


def test_viewer_sees_no_write_controls(client, viewer, org, component):
    client.force_login(viewer)

    response = client.get(url("components", org))

    assert b"Add component" not in response.content
    assert url("component_set_status", org, component.public_id).encode() not in response.content


def test_outsider_cannot_reach_another_orgs_component_through_own_org(
    client, outsider, other_org, component
):
    client.force_login(outsider)

    response = client.post(
        url("component_set_status", other_org, component.public_id), {"status": "major_outage"}
    )

    assert response.status_code == 404
    component.refresh_from_db()
    assert component.status == ComponentStatus.OPERATIONAL


# --- the components page ---------------------------------------------------------------------


def test_components_page_lists_groups_and_components_in_order(client, editor, org, component):
    ComponentFactory(organization=org, group=None, name="Website", position=2)
    client.force_login(editor)

    response = client.get(url("components", org))

    assert response.status_code == 200
    body = response.content.decode()
    assert body.index("Europe") < body.index("API") < body.index("Website")
    assert "✓</span> Operational" in body


def test_empty_state_offers_starter_components(client, editor, org):
    client.force_login(editor)

    response = client.get(url("components", org))

    assert b"Website, API, Dashboard" in response.content
    assert b"Create these components" in response.content


def test_starter_components_creates_each(client, editor, org):
    client.force_login(editor)

    response = client.post(url("starter_components", org), {"names": "Website, API, Dashboard"})

    assert response.status_code == 302
    names = list(Component.objects.for_org(org).values_list("name", flat=True))
    assert names == ["Website", "API", "Dashboard"]


def test_components_page_query_count_is_flat(client, editor, org, django_assert_max_num_queries):
    groups = ComponentGroupFactory.create_batch(5, organization=org)
    for group in groups:
        ComponentFactory.create_batch(8, organization=org, group=group)
    ComponentFactory.create_batch(10, organization=org)
    client.force_login(editor)

    with django_assert_max_num_queries(10):
        response = client.get(url("components", org))

    assert response.content.count(b'class="component-row"') == 50


# --- writes ----------------------------------------------------------------------------------


def test_editor_creates_a_component_in_a_group(client, editor, org, group):
    client.force_login(editor)

    response = client.post(
        url("component_create", org),
        {"name": "CDN", "description": "Static files", "group": group.public_id, "showcase": "on"},
    )

    assert response.status_code == 302
    cdn = Component.objects.get(name="CDN")
    assert (cdn.group, cdn.showcase, cdn.only_show_if_degraded) == (group, True, False)


def test_description_help_says_it_shows_under_the_name(client, editor, org):
    client.force_login(editor)

    component_form = client.get(url("component_create", org)).content.decode()
    group_form = client.get(url("group_create", org)).content.decode()

    assert "Shown under the component&#x27;s name on the status page." in component_form
    assert "Shown under the group&#x27;s name on the status page when the group is open." in (
        group_form
    )
    assert "tooltip" not in component_form + group_form


def test_create_component_needs_a_name(client, editor, org):
    client.force_login(editor)

    response = client.post(url("component_create", org), {"name": "  "})

    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert not Component.objects.exists()


def test_create_component_refuses_another_orgs_group(client, editor, org, other_org):
    theirs = ComponentGroupFactory(organization=other_org)
    client.force_login(editor)

    response = client.post(url("component_create", org), {"name": "CDN", "group": theirs.public_id})

    assert response.status_code == 200
    assert not Component.objects.exists()


def test_editor_edits_a_component(client, editor, org, component):
    client.force_login(editor)

    response = client.post(
        url("component_edit", org, component.public_id),
        {"name": "Public API", "only_show_if_degraded": "on", "start_date": "2025-01-31"},
    )

    assert response.status_code == 302
    component.refresh_from_db()
    assert (component.name, component.group, component.only_show_if_degraded) == (
        "Public API",
        None,
        True,
    )
    assert str(component.start_date) == "2025-01-31"


def test_editor_sets_status_without_javascript(client, editor, org, component):
    client.force_login(editor)

    response = client.post(
        url("component_set_status", org, component.public_id), {"status": "partial_outage"}
    )

    assert response.status_code == 302
    assert response["Location"] == url("components", org)
    component.refresh_from_db()
    assert component.status == ComponentStatus.PARTIAL_OUTAGE
    assert ComponentStatusChange.objects.get().actor == editor


def test_htmx_set_status_returns_the_row_and_group_badge(client, editor, org, component, group):
    client.force_login(editor)

    response = client.post(
        url("component_set_status", org, component.public_id),
        {"status": "major_outage"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="component-{component.public_id}"' in body
    assert f'id="group-status-{group.public_id}" hx-swap-oob="true"' in body
    assert "Major outage" in body
    assert "<html" not in body


def test_invalid_status_changes_nothing(client, editor, org, component):
    client.force_login(editor)

    client.post(url("component_set_status", org, component.public_id), {"status": "on_fire"})

    component.refresh_from_db()
    assert component.status == ComponentStatus.OPERATIONAL


def test_editor_reorders_with_buttons(client, editor, org, group):
    first = ComponentFactory(organization=org, group=group, position=1)
    second = ComponentFactory(organization=org, group=group, position=2)
    client.force_login(editor)

    response = client.post(url("component_move", org, second.public_id), {"direction": "up"})

    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (second.position, first.position) == (1, 2)


def test_htmx_move_returns_the_tree(client, editor, org, group, component):
    loose = ComponentFactory(organization=org, position=2)
    client.force_login(editor)

    response = client.post(
        url("group_move", org, group.public_id), {"direction": "down"}, HTTP_HX_REQUEST="true"
    )

    body = response.content.decode()
    assert 'id="component-tree"' in body
    assert body.index(loose.name) < body.index("Europe")


def test_editor_creates_edits_and_deletes_a_group(client, editor, org, component, group):
    client.force_login(editor)

    client.post(url("group_create", org), {"name": "Asia", "description": "Tokyo"})
    client.post(url("group_edit", org, group.public_id), {"name": "EU"})
    response = client.post(url("group_delete", org, group.public_id))

    assert response.status_code == 302
    assert list(ComponentGroup.objects.values_list("name", flat=True)) == ["Asia"]
    component.refresh_from_db()
    assert component.group is None


def test_editor_deletes_a_component_after_confirming(client, editor, org, component):
    client.force_login(editor)

    confirm = client.get(url("component_delete", org, component.public_id))
    response = client.post(url("component_delete", org, component.public_id))

    assert b"Delete API?" in confirm.content
    assert response.status_code == 302
    assert not Component.objects.exists()


# --- history ---------------------------------------------------------------------------------


def test_history_shows_changes_and_uptime(client, viewer, org, component):
    from datetime import timedelta

    from django.utils import timezone

    from apps.status import services

    # Older than the row below: days before a component existed are not counted.
    component.created_at = timezone.now() - timedelta(days=30)
    component.save(update_fields=["created_at"])
    services.set_component_status(
        component, ComponentStatus.MAJOR_OUTAGE, actor=System("Alertmanager")
    )
    UptimeDayFactory(
        component=component,
        date=timezone.localdate() - timedelta(days=3),
        operational_seconds=43200,
        major_seconds=43200,
        worst_status=ComponentStatus.MAJOR_OUTAGE,
    )
    client.force_login(viewer)

    response = client.get(url("component_history", org, component.public_id))

    body = response.content.decode()
    assert "Alertmanager" in body
    assert body.count('<li class="uptime-bar') == 90
    assert "50.00% uptime" in body


def test_history_is_paginated(client, viewer, org, component):
    from apps.status import services

    for n in range(30):
        services.set_component_status(
            component,
            ComponentStatus.MAJOR_OUTAGE if n % 2 == 0 else ComponentStatus.OPERATIONAL,
            actor=System("test"),
        )
    client.force_login(viewer)

    first = client.get(url("component_history", org, component.public_id))
    second = client.get(url("component_history", org, component.public_id) + "?page=2")

    assert first.content.count(b"<tr>") == 26  # header + 25
    assert second.content.count(b"<tr>") == 6
