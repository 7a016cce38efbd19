from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from tests.factories import OrganizationFactory

from .factories import AuditEntryFactory

pytestmark = pytest.mark.django_db


def audit(client, org, **params):
    return client.get(reverse("organizations:audit", args=[org.slug]), params)


def labels(response) -> list[str]:
    return [e.target_label for e in response.context["page"].object_list]


def test_the_audit_log_lists_entries_newest_first(login, org, owner):
    AuditEntryFactory(
        organization=org,
        target_label="first",
        created_at=datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC")),
    )
    AuditEntryFactory(
        organization=org,
        target_label="second",
        created_at=datetime(2026, 1, 2, tzinfo=ZoneInfo("UTC")),
    )
    response = audit(login(owner), org)
    assert response.status_code == 200
    assert labels(response) == ["second", "first"]


def test_the_audit_log_shows_only_this_organizations_entries(login, org, owner):
    AuditEntryFactory(organization=OrganizationFactory(), target_label="elsewhere")
    AuditEntryFactory(organization=org, target_label="here")
    assert labels(audit(login(owner), org)) == ["here"]


def test_it_filters_by_action(login, org, owner):
    AuditEntryFactory(organization=org, action="member.remove", target_label="removed")
    AuditEntryFactory(organization=org, action="domain.add", target_label="added")
    assert labels(audit(login(owner), org, action="domain.add")) == ["added"]


def test_it_filters_by_actor(login, org, owner):
    AuditEntryFactory(organization=org, actor_label="alice@acme.test", target_label="by alice")
    AuditEntryFactory(organization=org, actor_label="bob@acme.test", target_label="by bob")
    assert labels(audit(login(owner), org, actor="BOB")) == ["by bob"]


def test_it_filters_by_date_range_in_the_organizations_time_zone(login, owner):
    org = OrganizationFactory(slug="tokyo", timezone="Asia/Tokyo")
    from tests.factories import MembershipFactory

    MembershipFactory(organization=org, user=owner, role="owner")
    utc = ZoneInfo("UTC")
    # 2026-03-01 23:30 UTC is already 2 March in Tokyo.
    AuditEntryFactory(
        organization=org, target_label="late", created_at=datetime(2026, 3, 1, 23, 30, tzinfo=utc)
    )
    AuditEntryFactory(
        organization=org, target_label="early", created_at=datetime(2026, 3, 1, 1, 0, tzinfo=utc)
    )
    AuditEntryFactory(
        organization=org, target_label="before", created_at=datetime(2026, 2, 20, tzinfo=utc)
    )
    response = audit(login(owner), org, since="2026-03-02", until="2026-03-02")
    assert labels(response) == ["late"]
    response = audit(login(owner), org, since="2026-03-01", until="2026-03-01")
    assert labels(response) == ["early"]


def test_it_paginates_and_keeps_the_filters_in_page_links(login, org, owner):
    base = datetime(2026, 1, 1, tzinfo=ZoneInfo("UTC"))
    for n in range(55):
        AuditEntryFactory(
            organization=org, action="domain.add", created_at=base + timedelta(minutes=n)
        )
    client = login(owner)
    first = audit(client, org, action="domain.add")
    assert len(first.context["page"].object_list) == 50
    assert b"action=domain.add&amp;page=2" in first.content
    second = audit(client, org, action="domain.add", page=2)
    assert len(second.context["page"].object_list) == 5


def test_the_audit_log_renders_with_a_bounded_number_of_queries(
    login, org, owner, django_assert_max_num_queries
):
    for _ in range(30):
        AuditEntryFactory(organization=org)
    client = login(owner)
    # 10 for the page, 1 for the navigation's count of forum comments awaiting review.
    with django_assert_max_num_queries(11):
        audit(client, org)


def test_an_invalid_date_is_shown_as_a_form_error(login, org, owner):
    response = audit(login(owner), org, since="yesterday")
    assert response.status_code == 200
    assert response.context["form"].errors["since"]


def test_editors_and_viewers_cannot_read_the_audit_log(login, org, editor, viewer):
    assert audit(login(editor), org).status_code == 403
    assert audit(login(viewer), org).status_code == 403


def test_an_admin_can_read_the_audit_log(login, org, admin):
    assert audit(login(admin), org).status_code == 200


def test_staff_actions_are_recorded_with_the_actor_and_ip(login, org, owner, editor):
    from apps.organizations.models import AuditEntry, Membership

    client = login(owner)
    client.post(
        reverse(
            "organizations:change_role",
            args=[org.slug, Membership.objects.get(user=editor).pk],
        ),
        {"role": "viewer"},
        REMOTE_ADDR="203.0.113.9",
    )
    entry = AuditEntry.objects.get(organization=org, action="member.role_change")
    assert entry.actor_label == owner.email
    assert entry.ip_address == "203.0.113.9"
    assert entry.target_label == str(editor)


def test_times_are_shown_in_the_organizations_time_zone(login, owner):
    from tests.factories import MembershipFactory

    org = OrganizationFactory(slug="tokyo", timezone="Asia/Tokyo")
    MembershipFactory(organization=org, user=owner, role="owner")
    AuditEntryFactory(
        organization=org, created_at=datetime(2026, 3, 1, 23, 30, tzinfo=ZoneInfo("UTC"))
    )
    content = audit(login(owner), org).content.decode()
    assert "Mar 2, 2026 08:30" in content  # the format the dashboard shows everywhere
    assert "Asia/Tokyo" in content
