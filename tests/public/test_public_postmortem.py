"""Published postmortems on the public status page and in the status API v2; drafts never."""

from __future__ import annotations

import pytest

from apps.incidents import services
from apps.incidents.models import ActionItem
from tests.factories import IncidentFactory, IncidentUpdateFactory, member
from tests.incidents.factories import ActionItemFactory, PostmortemFactory

from .test_api_v2 import bump, count_queries, get_json, validator

pytestmark = pytest.mark.django_db


def page_of(client, incident) -> str:
    response = client.get(f"/s/acme/incidents/{incident.public_id}/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def published(org):
    incident = IncidentFactory(organization=org, name="Sign-in failures", status="resolved")
    IncidentUpdateFactory(incident=incident, status="resolved", body="Signing in works again.")
    postmortem = PostmortemFactory(incident=incident, published=True)
    ActionItemFactory(postmortem=postmortem, title="Alert before certificates expire",
                      status=ActionItem.Status.DONE)  # fmt: skip
    ActionItemFactory(postmortem=postmortem, title="Renew certificates automatically",
                      status=ActionItem.Status.IN_PROGRESS)  # fmt: skip
    return postmortem


def test_a_published_postmortem_is_shown_with_its_action_items(client, published):
    body = page_of(client, published.incident)
    section = body.split('id="postmortem-heading"')[1].split('id="updates-heading"')[0]
    assert "What happened" in section and published.summary in section
    assert "How this affected you" in section and published.customer_impact in section
    assert published.cause in section and published.resolution in section
    assert "What we are doing so it does not happen again" in section
    assert section.index("Alert before certificates expire") < section.index("Renew certificates")
    assert "✓</span> Done" in section and "◐</span> In progress" in section
    # Shown before the timeline, so readers find it first.
    assert body.index('id="postmortem-heading"') < body.index('id="updates-heading"')


def test_sections_are_plain_text_escaped_with_paragraphs(client, org):
    postmortem = PostmortemFactory(
        incident__organization=org, published=True,
        summary="<script>alert(1)</script> went <b>down</b>.\n\nSecond paragraph.\nSame one.",
        cause="",
    )  # fmt: skip
    body = page_of(client, postmortem.incident)
    assert "<script>alert(1)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; went &lt;b&gt;down&lt;/b&gt;." in body
    assert "<p>Second paragraph.<br>Same one.</p>" in body
    assert "Why it happened" not in body  # an empty section is left out


def test_a_draft_never_appears_publicly(client, org):
    draft = PostmortemFactory(
        incident__organization=org, summary="Secret draft words", published=False
    )
    body = page_of(client, draft.incident)
    assert "Secret draft words" not in body
    assert 'id="postmortem-heading"' not in body
    assert "Postmortem" not in client.get("/s/acme/history/").content.decode()


def test_a_draft_stays_hidden_even_if_the_status_says_postmortem(client, org):
    draft = PostmortemFactory(incident__organization=org, summary="Secret draft words")
    draft.incident.status = "postmortem"
    draft.incident.save(update_fields=["status"])
    assert "Secret draft words" not in page_of(client, draft.incident)


def test_history_and_page_link_to_the_postmortem(client, published):
    link = f'href="/s/acme/incidents/{published.incident.public_id}/#postmortem-heading"'
    assert link in client.get("/s/acme/history/").content.decode()
    assert link in client.get("/s/acme/").content.decode()


def test_publishing_editing_and_unpublishing_refresh_the_cached_page(
    client, org, editor, django_capture_on_commit_callbacks
):
    incident = IncidentFactory(organization=org, status="resolved")
    IncidentUpdateFactory(incident=incident, status="resolved", body="Fixed.")
    services.save_postmortem(incident, actor=member(editor), summary="First words.")
    assert "First words." not in page_of(client, incident)  # cached without it
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_postmortem(incident, actor=member(editor))
    assert "First words." in page_of(client, incident)
    with django_capture_on_commit_callbacks(execute=True):
        services.save_postmortem(incident, actor=member(editor), summary="Better words.")
    with django_capture_on_commit_callbacks(execute=True):
        item = services.add_action_item(
            incident.postmortem, actor=member(editor), title="Add an alert"
        )
    body = page_of(client, incident)
    assert "Better words." in body and "Add an alert" in body
    with django_capture_on_commit_callbacks(execute=True):
        services.update_action_item(item, actor=member(editor), status=ActionItem.Status.DONE)
    assert "✓</span> Done" in page_of(client, incident)
    with django_capture_on_commit_callbacks(execute=True):
        services.unpublish_postmortem(incident, actor=member(editor))
    assert "Better words." not in page_of(client, incident)


def test_incident_page_queries_do_not_grow_with_action_items(client, org, other_org):
    small = PostmortemFactory(incident__organization=other_org, published=True)
    ActionItemFactory(postmortem=small)
    big = PostmortemFactory(incident__organization=org, published=True)
    for n in range(20):
        ActionItemFactory(postmortem=big, title=f"Change {n}")
    big_url = f"/s/acme/incidents/{big.incident.public_id}/"
    small_url = f"/s/globex/incidents/{small.incident.public_id}/"
    assert count_queries(client, big_url) == count_queries(client, small_url)
    bump(org)
    body_queries = count_queries(client, big_url)
    plain = IncidentFactory(organization=org, status="resolved")
    bump(org)
    # The postmortem and its action items: two queries, only for a postmortem incident.
    assert body_queries == count_queries(client, f"/s/acme/incidents/{plain.public_id}/") + 2


def test_status_api_lists_postmortem_incidents_as_the_reference_says(client, published):
    incidents = get_json(client, "incidents.json")
    unresolved = get_json(client, "incidents/unresolved.json")
    validator("incidents.json").validate(incidents)
    [item] = incidents["incidents"]
    assert item["id"] == published.incident.public_id
    assert item["status"] == "postmortem"
    # Modern v2 objects carry no postmortem_* keys (reference §1.3): the page shows it.
    assert not [key for key in item if key.startswith("postmortem")]
    assert unresolved["incidents"] == []


def test_feeds_carry_the_postmortem_summary_of_published_ones_only(client, org, published):
    draft_incident = IncidentFactory(organization=org, name="Slow search", status="resolved")
    PostmortemFactory(incident=draft_incident, summary="Draft text nobody may read yet.")

    for name in ("history.atom", "history.rss"):
        body = client.get(f"/s/acme/{name}").content.decode()
        assert "Postmortem" in body and published.summary in body, name
        assert "Draft text nobody may read yet." not in body, name


def test_feed_queries_do_not_grow_with_postmortems(client, org, other_org):
    for n in range(5):
        incident = IncidentFactory(organization=org, name=f"Outage {n}", status="resolved")
        PostmortemFactory(incident=incident, published=True)
    incident = IncidentFactory(organization=other_org, name="One outage", status="resolved")
    PostmortemFactory(incident=incident, published=True)

    many = count_queries(client, "/s/acme/history.atom")
    one = count_queries(client, "/s/globex/history.atom")

    assert many == one
