"""Per-organization notification settings: email for component-only changes (off by default)."""

from __future__ import annotations

import pytest
from django.core import mail

from apps.notifications import services
from apps.notifications.models import NotificationSettings
from apps.organizations.models import AuditEntry
from apps.organizations.principals import System
from apps.status.notifications import EventKind as ComponentKind
from tests.factories import ComponentFactory

from .factories import EmailSubscriberFactory, SlackSubscriberFactory
from .test_pipeline import publish  # noqa: F401 (fixture)

SETTINGS_URL = "/dashboard/{}/notifications/settings/"


def component_change(org, component):
    return {
        "organization": org,
        "kind": ComponentKind.COMPONENT_STATUS_CHANGED,
        "component": component,
        "component_ids": [component.public_id],
        "data": {"old_status": "operational", "new_status": "major_outage"},
    }


def test_default_is_off_and_no_row_is_created(org):
    assert services.email_component_changes(org.pk) is False
    assert NotificationSettings.for_org(org).email_component_changes is False
    assert not NotificationSettings.objects.exists()


def test_component_change_is_mailed_when_the_organization_wants_it(org, other_org, publish):  # noqa: F811
    api = ComponentFactory(organization=org, name="API", status="major_outage")
    follower = EmailSubscriberFactory(organization=org)
    services.set_email_component_changes(org, enabled=True, actor=System("test"))
    # Another organization's setting is its own.
    assert services.email_component_changes(other_org.pk) is False

    publish(**component_change(org, api))

    assert [m.to for m in mail.outbox] == [[follower.email]]
    assert "API" in mail.outbox[0].subject
    assert "major outage" in mail.outbox[0].subject


def test_component_change_mail_respects_followed_components(org, publish):  # noqa: F811
    api = ComponentFactory(organization=org, name="API")
    web = ComponentFactory(organization=org, name="Web")
    only_web = EmailSubscriberFactory(organization=org)
    only_web.components.set([web])
    services.set_email_component_changes(org, enabled=True, actor=System("test"))

    publish(**component_change(org, api))

    assert mail.outbox == []


def test_turned_off_again_email_is_skipped(org, publish):  # noqa: F811
    api = ComponentFactory(organization=org, name="API")
    EmailSubscriberFactory(organization=org)
    SlackSubscriberFactory(organization=org)
    services.set_email_component_changes(org, enabled=True, actor=System("test"))
    services.set_email_component_changes(org, enabled=False, actor=System("test"))

    event = publish(**component_change(org, api))

    assert mail.outbox == []
    assert list(event.deliveries.values_list("channel", flat=True)) == ["slack"]


def test_an_editor_turns_it_on_audited(client, editor, org):
    client.force_login(editor)
    page = client.get(f"/dashboard/{org.slug}/notifications/").content.decode()
    assert 'name="email_component_changes"' in page
    assert "checked" not in page.split('name="email_component_changes"')[1].split(">")[0]

    response = client.post(SETTINGS_URL.format(org.slug), {"email_component_changes": "on"})

    assert response.status_code == 302
    assert services.email_component_changes(org.pk) is True
    entry = AuditEntry.objects.get(action="notifications.settings")
    assert entry.actor == editor
    assert entry.data == {"email_component_changes": True}
    page = client.get(f"/dashboard/{org.slug}/notifications/").content.decode()
    assert " checked" in page.split('name="email_component_changes"')[1].split(">")[0]

    # Saving the same value again changes nothing and records nothing.
    client.post(SETTINGS_URL.format(org.slug), {"email_component_changes": "on"})
    assert AuditEntry.objects.filter(action="notifications.settings").count() == 1
    # An unchecked box (absent from the POST) turns it off.
    client.post(SETTINGS_URL.format(org.slug), {})
    assert services.email_component_changes(org.pk) is False


@pytest.mark.parametrize("who", ["viewer", "outsider"])
def test_viewers_and_outsiders_cannot_change_it(client, org, who, request):
    client.force_login(request.getfixturevalue(who))
    if who == "viewer":
        page = client.get(f"/dashboard/{org.slug}/notifications/").content.decode()
        assert "disabled" in page.split('name="email_component_changes"')[1].split(">")[0]

    response = client.post(SETTINGS_URL.format(org.slug), {"email_component_changes": "on"})

    assert response.status_code in (403, 404)
    assert services.email_component_changes(org.pk) is False
    assert not AuditEntry.objects.filter(action="notifications.settings").exists()


def test_get_is_not_allowed(client, editor, org):
    client.force_login(editor)
    assert client.get(SETTINGS_URL.format(org.slug)).status_code == 405
