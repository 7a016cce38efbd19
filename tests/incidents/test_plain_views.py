"""Dashboard: plain-language help in every form that writes public text, and the word lists."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.incidents import services
from apps.incidents.models import Incident, IncidentUpdate, PlainLanguageSettings, Postmortem
from apps.incidents.plain.checker import default_minimising_text
from apps.incidents.plain.services import save_plain_language_settings
from apps.organizations.models import AuditEntry
from apps.status.models import ComponentStatus
from tests.factories import ComponentFactory, IncidentUpdateFactory, MaintenanceFactory, member

pytestmark = pytest.mark.django_db

JARGON_TEXT = "We saw elevated latency from an upstream DNS provider. It was just a brief blip."


def url(name: str, *args) -> str:
    return reverse(f"incidents:{name}", args=["acme", *args])


@pytest.fixture
def api(org):
    return ComponentFactory(organization=org, name="API")


@pytest.fixture
def incident(org, editor, api):
    return services.open_incident(
        org, actor=member(editor), name="API errors", status="investigating", body="Looking.",
        components={api: ComponentStatus.PARTIAL_OUTAGE},
    )  # fmt: skip


@pytest.fixture
def resolved(org, editor, incident):
    services.resolve_incident(incident, actor=member(editor), body="Fixed.")
    return incident


@pytest.fixture
def maintenance(org):
    maintenance = MaintenanceFactory(organization=org, status="in_progress")
    IncidentUpdateFactory(incident=maintenance, body="Planned.")
    return maintenance


def forms_with_text(incident, resolved_incident, maintenance):
    """(url, posted data) for each form that writes public text."""
    update = incident.updates.first()
    return [
        (url("new"), {"name": "Slow API", "status": "investigating", "impact": "auto",
                      "body": JARGON_TEXT}),
        (url("detail", incident.public_id), {"status": "identified", "body": JARGON_TEXT}),
        (url("edit_update", incident.public_id, update.public_id), {"body": JARGON_TEXT}),
        (url("resolve", incident.public_id), {"body": JARGON_TEXT}),
        (url("maintenance_new"), {"name": "Database upgrade", "body": JARGON_TEXT,
                                  "scheduled_for": "2036-12-01T09:00",
                                  "scheduled_until": "2036-12-01T11:00", "reminder_hours": "2"}),
        (url("maintenance_detail", maintenance.public_id), {"body": JARGON_TEXT}),
        (url("postmortem", resolved_incident.public_id), {"summary": JARGON_TEXT}),
    ]  # fmt: skip


@pytest.fixture
def other_resolved(org, editor, api):
    other = services.open_incident(
        org, actor=member(editor), name="Old trouble", status="investigating", body="Looking.",
    )  # fmt: skip
    services.resolve_incident(other, actor=member(editor), body="Fixed.")
    return other


def test_every_writing_form_shows_the_panel_with_its_check_button(
    client, editor, incident, other_resolved, maintenance
):
    client.force_login(editor)
    for page, _data in forms_with_text(incident, other_resolved, maintenance):
        body = client.get(page).content.decode()
        assert 'name="check_wording"' in body, page
        assert "Check wording" in body, page
        assert f'hx-post="{url("plain_check")}"' in body, page
        assert "keyup changed delay:600ms from:closest form" in body, page


def test_check_wording_without_javascript_keeps_the_text_shows_findings_and_saves_nothing(
    client, editor, incident, other_resolved, maintenance
):
    client.force_login(editor)
    updates, incidents = IncidentUpdate.objects.count(), Incident.objects.count()
    for page, data in forms_with_text(incident, other_resolved, maintenance):
        response = client.post(page, {**data, "check_wording": "1"})
        body = response.content.decode()
        assert response.status_code == 200, page
        assert JARGON_TEXT in body, page  # the text is kept in the form
        assert "Reading ease" in body, page
        assert "“latency”" in body and "Plainer: slowness" in body, page
        assert "“brief blip”" in body and "how long it lasted" in body, page
    assert (IncidentUpdate.objects.count(), Incident.objects.count()) == (updates, incidents)
    assert not Postmortem.objects.exists()
    incident.refresh_from_db()
    assert incident.status == "investigating"


def test_the_postmortem_check_names_each_section(client, editor, other_resolved):
    client.force_login(editor)
    response = client.post(
        url("postmortem", other_resolved.public_id),
        {"summary": "It failed.", "cause": "The root cause was DNS.", "check_wording": "1"},
    )
    body = response.content.decode()
    assert '<h3 class="plain-part">What happened</h3>' in body
    assert '<h3 class="plain-part">Why it happened</h3>' in body
    assert "“root cause”" in body


def test_htmx_gets_only_the_findings_fragment(client, editor):
    client.force_login(editor)
    response = client.post(
        url("plain_check"), {"body": JARGON_TEXT, "status": "identified"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div class="plain-findings"')
    assert "<html" not in body
    assert "Reading ease" in body
    assert "“upstream”" in body
    assert "“just”" in body


def test_the_fragment_for_an_empty_form_asks_for_text(client, editor):
    client.force_login(editor)
    body = client.post(url("plain_check"), {"body": "  "}).content.decode()
    assert "Write the text first" in body


def test_the_check_uses_the_organizations_lists(client, editor, org):
    save_plain_language_settings(
        org, actor=member(editor), own_jargon="edge node = one of our servers near you",
        known_terms="DNS", minimising_phrases="tiny", long_sentence_words=25,
    )  # fmt: skip
    client.force_login(editor)
    body = client.post(
        url("plain_check"), {"body": "An edge node lost DNS. Just a tiny issue."}
    ).content.decode()
    assert "Plainer: one of our servers near you" in body
    assert "“DNS”" not in body
    assert "“tiny”" in body
    assert "“Just”" not in body


def test_viewer_may_not_check_and_outsider_gets_404(client, viewer, outsider):
    client.force_login(viewer)
    assert client.post(url("plain_check"), {"body": "x"}).status_code == 403
    client.force_login(outsider)
    assert client.post(url("plain_check"), {"body": "x"}).status_code == 404


def test_the_check_endpoint_only_answers_posts(client, editor):
    client.force_login(editor)
    assert client.get(url("plain_check")).status_code == 405


@pytest.mark.parametrize("with_htmx", [False, True])
def test_jargon_never_blocks_publishing(client, editor, org, api, with_htmx):
    client.force_login(editor)
    headers = {"HTTP_HX_REQUEST": "true"} if with_htmx else {}
    response = client.post(url("new"), {
        "name": "Upstream DNS latency", "status": "investigating", "impact": "auto",
        "body": JARGON_TEXT, f"component_{api.public_id}": "degraded_performance",
    }, **headers)  # fmt: skip
    incident = Incident.objects.get(name="Upstream DNS latency")
    assert response.status_code == 302
    response = client.post(
        url("detail", incident.public_id), {"status": "identified", "body": JARGON_TEXT}
    )
    assert response.status_code == 302
    assert incident.updates.filter(body=JARGON_TEXT).count() == 2
    response = client.post(url("resolve", incident.public_id), {"body": "Just a blip, RCA soon."})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == "resolved"


def test_a_postmortem_full_of_jargon_is_saved_and_published(client, editor, other_resolved):
    client.force_login(editor)
    response = client.post(url("postmortem", other_resolved.public_id), {"summary": JARGON_TEXT})
    assert response.status_code == 302
    response = client.post(url("postmortem_publish", other_resolved.public_id))
    assert response.status_code == 302
    assert Postmortem.objects.get(incident=other_resolved).is_published


def test_a_confirmation_page_without_text_has_no_panel(client, editor, other_resolved):
    client.force_login(editor)
    client.post(url("postmortem", other_resolved.public_id), {"summary": "Draft."})
    body = client.get(url("postmortem_delete", other_resolved.public_id)).content.decode()
    assert "Check wording" not in body


# --- the organization's word lists ------------------------------------------------------------


def test_it_works_the_settings_page_shows_the_defaults(client, viewer):
    client.force_login(viewer)
    body = client.get(url("plain_settings")).content.decode()
    assert "Plain-language help" in body
    assert "latency" in body and "slowness" in body
    assert "“brief blip”" in body  # the phrase list, read-only for viewers
    assert "Save word lists" not in body


def test_editor_saves_the_lists_and_the_change_is_audited(client, editor, org):
    client.force_login(editor)
    assert default_minimising_text() in client.get(url("plain_settings")).content.decode()
    response = client.post(url("plain_settings"), {
        "own_jargon": "edge node = one of our servers near you", "known_terms": "DNS",
        "minimising_phrases": "tiny\nbrief blip", "long_sentence_words": "20",
    })  # fmt: skip
    assert response.status_code == 302
    saved = PlainLanguageSettings.objects.get(organization=org)
    assert (saved.known_terms, saved.minimising_phrases, saved.long_sentence_words) == (
        "DNS",
        "tiny\nbrief blip",
        20,
    )
    entry = AuditEntry.objects.get(action="incidents.plain_language_settings")
    assert entry.data == {
        "changed": ["own_jargon", "known_terms", "minimising_phrases", "long_sentence_words"]
    }
    page = client.get(url("plain_settings")).content.decode()
    assert "edge node" in page and "Your list" in page


def test_bad_lists_are_refused_line_by_line_and_nothing_is_saved(client, editor, org):
    client.force_login(editor)
    response = client.post(url("plain_settings"), {
        "own_jargon": "ok = fine\n = nothing", "known_terms": "frobnicate",
        "minimising_phrases": "tiny", "long_sentence_words": "5",
    })  # fmt: skip
    body = response.content.decode()
    assert response.status_code == 400
    assert "Line 2: write the term before “=”." in body
    assert "“frobnicate” is not on the built-in list" in body
    assert "Ensure this value is greater than or equal to 10." in body
    assert not PlainLanguageSettings.objects.exists()
    assert not AuditEntry.objects.filter(action="incidents.plain_language_settings").exists()


def test_viewer_may_not_change_the_lists(client, viewer):
    client.force_login(viewer)
    response = client.post(url("plain_settings"), {"long_sentence_words": "20"})
    assert response.status_code == 403
    assert not PlainLanguageSettings.objects.exists()
