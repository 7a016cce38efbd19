"""One rule for staff-written public text: plain text with line breaks and links.

What staff type reaches every reader exactly as written: on the status page and the incident
page, in the dashboard and its previews, in mail (text and HTML), in Atom/RSS and in Slack.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from django.core import mail
from django.urls import reverse

from apps.core.text import staff_text_html, staff_text_plain, staff_text_slack
from apps.incidents import services
from apps.incidents.notifications import SLACK_SUMMARY_LIMIT, EventKind
from apps.notifications.channels import slack
from tests.factories import (
    IncidentFactory,
    IncidentUpdateFactory,
    MaintenanceFactory,
    member,
)
from tests.incidents.factories import ActionItemFactory, PostmortemFactory
from tests.notifications.factories import EmailSubscriberFactory, NotificationEventFactory

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"

BODY = (
    "Send the header <X-Request-Id> to support, and use <Ctrl>+<R> to retry.\n\n"
    "<b>b</b> <script>alert(1)</script>\r\n"
    "Details: https://example.com/status?id=1&x=2\n"
    "Write to help@example.com."
)
# As typed, with one kind of line ending: the text part of mail.
PLAIN = BODY.replace("\r\n", "\n")
# The same text as HTML: everything shown literally, paragraphs, line breaks and two links.
HTML = (
    "<p>Send the header &lt;X-Request-Id&gt; to support, and use &lt;Ctrl&gt;+&lt;R&gt; to "
    "retry.</p>\n\n"
    "<p>&lt;b&gt;b&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;<br>"
    'Details: <a href="https://example.com/status?id=1&amp;x=2" '
    'rel="nofollow noopener noreferrer">https://example.com/status?id=1&amp;x=2</a><br>'
    'Write to <a href="mailto:help@example.com" rel="nofollow noopener noreferrer">'
    "help@example.com</a>.</p>"
)
# Slack mrkdwn: its three control characters escaped, so Slack shows them as typed.
SLACK = (
    "Send the header &lt;X-Request-Id&gt; to support, and use &lt;Ctrl&gt;+&lt;R&gt; to retry."
    "\n\n&lt;b&gt;b&lt;/b&gt; &lt;script&gt;alert(1)&lt;/script&gt;\n"
    "Details: https://example.com/status?id=1&amp;x=2\nWrite to help@example.com."
)


# --- the rule ----------------------------------------------------------------------------------


def test_the_html_keeps_every_character_paragraphs_and_links():
    assert staff_text_html(BODY) == HTML


def test_tags_are_shown_not_applied():
    assert staff_text_html("<b>b</b>") == "<p>&lt;b&gt;b&lt;/b&gt;</p>"
    assert staff_text_html('<img src=x onerror="alert(1)">') == (
        "<p>&lt;img src=x onerror=&quot;alert(1)&quot;&gt;</p>"
    )


def test_punctuation_around_a_link_is_kept():
    # Django's urlize alone drops the full stop after the closing bracket.
    assert staff_text_html("(see https://example.com/a).") == (
        '<p>(see <a href="https://example.com/a" rel="nofollow noopener noreferrer">'
        "https://example.com/a</a>).</p>"
    )
    assert staff_text_html("[https://example.com/a]!") == (
        '<p>[<a href="https://example.com/a" rel="nofollow noopener noreferrer">'
        "https://example.com/a</a>]!</p>"
    )


def test_only_web_and_mail_addresses_become_links():
    assert staff_text_html("javascript:alert(1) data:text/html,x") == (
        "<p>javascript:alert(1) data:text/html,x</p>"
    )


def test_a_line_of_spaces_separates_paragraphs_and_empty_text_is_empty():
    assert staff_text_html("one\n   \ntwo") == "<p>one</p>\n\n<p>two</p>"
    assert staff_text_html("") == ""
    assert staff_text_html(None) == ""


def test_plain_text_is_the_text_as_typed():
    assert staff_text_plain(BODY) == PLAIN
    assert staff_text_plain("\r\n  Fixed.  \r\n") == "Fixed."


def test_slack_text_escapes_its_control_characters():
    assert staff_text_slack(BODY) == SLACK


def test_slack_text_is_cut_before_escaping_and_says_so():
    # Cut after escaping, "a & b" became "a &am": Slack showed a broken entity.
    assert staff_text_slack("a & b <c>", limit=5) == "a &amp;…"
    assert staff_text_slack("short", limit=5) == "short"


# --- where it is shown -------------------------------------------------------------------------


def test_the_status_page_shows_an_update_as_typed(client, org):
    incident = IncidentFactory(organization=org)
    IncidentUpdateFactory(incident=incident, body=BODY)

    page = client.get("/s/acme/").content.decode()

    assert f'<div class="sp-update-body" dir="auto">{HTML}</div>' in page
    assert "<script>alert(1)</script>" not in page
    assert "<b>b</b>" not in page


def test_the_incident_page_shows_updates_and_the_postmortem_as_typed(client, org):
    postmortem = PostmortemFactory(
        incident__organization=org, published=True, summary=BODY, cause=BODY
    )
    ActionItemFactory(postmortem=postmortem, description=BODY)
    IncidentUpdateFactory(incident=postmortem.incident, body=BODY)

    page = client.get(f"/s/acme/incidents/{postmortem.incident.public_id}/").content.decode()

    assert f'<div class="sp-update-body" dir="auto">{HTML}</div>' in page
    assert f'<div class="sp-postmortem-text" dir="auto">{HTML}</div>' in page
    assert f'<div class="sp-action-description" dir="auto">{HTML}</div>' in page
    assert "<script>alert(1)</script>" not in page


def test_a_maintenance_on_the_status_page_shows_its_text_as_typed(client, org):
    maintenance = MaintenanceFactory(organization=org)
    IncidentUpdateFactory(incident=maintenance, body=BODY)

    page = client.get("/s/acme/").content.decode()

    assert f'<div class="sp-update-body" dir="auto">{HTML}</div>' in page


def test_the_compose_preview_shows_the_text_as_it_will_be_published(client, editor):
    client.force_login(editor)
    data = {"name": "Slow API", "status": "investigating", "impact": "auto", "body": BODY}

    panel = client.post(
        reverse("incidents:new", args=["acme"]), {**data, "preview": "1"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert HTML in panel
    assert "<script>alert(1)</script>" not in panel


def test_the_dashboard_timeline_shows_the_text_as_published(client, org, editor):
    incident = services.open_incident(
        org, actor=member(editor), name="Slow API", status="investigating", body=BODY, components={}
    )
    client.force_login(editor)

    page = client.get(reverse("incidents:detail", args=["acme", incident.public_id]))

    assert f'<div class="timeline-body">{HTML}</div>' in page.content.decode()


def test_the_postmortem_preview_and_action_items_show_the_text_as_published(client, editor, org):
    postmortem = PostmortemFactory(incident__organization=org)
    ActionItemFactory(postmortem=postmortem, description=BODY)
    client.force_login(editor)
    url = reverse("incidents:postmortem", args=["acme", postmortem.incident.public_id])

    panel = client.post(url, {"summary": BODY, "preview": "1"}).content.decode()

    assert f'<div class="pm-section-text">{HTML}</div>' in panel
    assert f'<div class="small pm-item-description">{HTML}</div>' in panel


def test_mail_shows_the_text_as_typed_in_both_parts(org, django_capture_on_commit_callbacks):
    EmailSubscriberFactory(organization=org)
    incident = IncidentFactory(organization=org)
    update = IncidentUpdateFactory(incident=incident, body=BODY)
    with django_capture_on_commit_callbacks(execute=True):
        NotificationEventFactory(
            organization=org,
            kind=EventKind.INCIDENT_OPENED,
            incident=incident,
            update=update,
        )

    [message] = mail.outbox
    html, _mimetype = message.alternatives[0]
    assert PLAIN in message.body
    assert HTML in html
    assert "<script>alert(1)</script>" not in html


def test_the_postmortem_mail_shows_its_summary_as_typed(org, django_capture_on_commit_callbacks):
    EmailSubscriberFactory(organization=org)
    incident = IncidentFactory(organization=org, status="postmortem")
    with django_capture_on_commit_callbacks(execute=True):
        NotificationEventFactory(
            organization=org,
            kind=EventKind.POSTMORTEM_PUBLISHED,
            incident=incident,
            data={"summary": BODY},
        )

    [message] = mail.outbox
    html, _mimetype = message.alternatives[0]
    assert PLAIN in message.body
    assert HTML in html


@pytest.mark.parametrize(
    ("path", "entry", "field"),
    [
        ("/s/acme/history.atom", f"{ATOM}entry", f"{ATOM}summary"),
        ("/s/acme/history.rss", "channel/item", "description"),
    ],
)
def test_feeds_carry_the_text_as_the_page_shows_it(client, org, path, entry, field):
    incident = IncidentFactory(organization=org)
    IncidentUpdateFactory(incident=incident, status="investigating", body=BODY)

    document = ET.fromstring(client.get(path).content)  # noqa: S314 - our own output
    description = document.find(entry).find(field).text

    assert f"<strong>Investigating</strong></p>{HTML}" in description
    assert "<script>" not in description


def test_slack_shows_the_text_as_typed(org):
    incident = IncidentFactory(organization=org)
    update = IncidentUpdateFactory(incident=incident, body=BODY)
    event = NotificationEventFactory(
        organization=org,
        kind=EventKind.INCIDENT_OPENED,
        incident=incident,
        update=update,
    )

    text = slack.message(event)["text"]

    assert text.endswith(f"*Investigating* — {SLACK}")


def test_a_long_slack_summary_is_cut_whole_and_marked(org):
    incident = IncidentFactory(organization=org)
    body = "x" * (SLACK_SUMMARY_LIMIT - 3) + " & more text that does not fit"
    update = IncidentUpdateFactory(incident=incident, body=body)
    event = NotificationEventFactory(
        organization=org,
        kind=EventKind.INCIDENT_UPDATED,
        incident=incident,
        update=update,
    )

    text = slack.message(event)["text"]

    assert text.endswith("x" * (SLACK_SUMMARY_LIMIT - 3) + " &amp;…")


# --- the rule, said where staff write ----------------------------------------------------------


def test_the_compose_forms_say_the_rule(client, editor, org):
    client.force_login(editor)
    rule = "Plain text. Line breaks are kept and web addresses become links; what you type is "
    rule += "shown exactly as written."
    incident = services.open_incident(
        org, actor=member(editor), name="Slow", status="investigating", body="Slow.", components={}
    )
    postmortem = PostmortemFactory(incident__organization=org)
    pages = [
        reverse("incidents:new", args=["acme"]),
        reverse("incidents:detail", args=["acme", incident.public_id]),
        reverse("incidents:maintenance_new", args=["acme"]),
        reverse("incidents:postmortem", args=["acme", postmortem.incident.public_id]),
    ]

    for url in pages:
        assert rule in client.get(url).content.decode(), url
