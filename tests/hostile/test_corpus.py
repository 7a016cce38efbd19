"""The hostile-string corpus (issue #14) through every field people and monitors control.

Each case types one string from tests/hostile/corpus.py into one field through the entry point
people use (a dashboard form, the management API, the public forms, an alert hook), then:
- either the input is refused with an error naming the field and nothing is stored,
- or it is stored, and every page, feed, calendar, JSON document, mail and webhook body that
  shows it stays well-formed with nothing executable from the input (tests/hostile/outputs.py).

HTML pages are compared with the same scenario run with a benign string (its own organization,
computed once per scenario and cached for the module: a pure function of the scenario code).
The full corpus goes through the highest-risk fields; the others get one string per family.
"""

from __future__ import annotations

import html
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from django.core import mail
from django.test import Client
from django.test.testcases import TestCase
from django.urls import reverse
from django.utils import timezone

from apps.forum.models import Comment
from apps.forum.rules import sign_form_timestamp
from apps.incidents.models import Incident
from apps.integrations.alerts.services import create_alert_integration
from apps.notifications import registry
from apps.notifications.channels import slack
from apps.notifications.models import NotificationEvent, Subscriber
from apps.organizations.models import Organization
from apps.organizations.principals import Member
from apps.status.models import Component
from tests.factories import (
    ApiKeyFactory,
    ComponentFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MembershipFactory,
    OrganizationFactory,
    UserFactory,
)
from tests.notifications.factories import EmailSubscriberFactory

from . import outputs
from .corpus import BENIGN, FULL, REPRESENTATIVE, ids

JSON = "application/json"

# --- one organization per run ------------------------------------------------------------------


@dataclass
class World:
    """An organization as a scenario finds it: an owner signed in to the dashboard, a write
    API key, a confirmed email subscriber (so notification mail goes out) and a component."""

    org: Organization
    owner: Any
    dashboard: Client
    api: Client
    public: Client
    component: Component
    subject: Incident | None = None  # the incident whose pages show the text
    # Which outputs show this field: the scenario says, so unrelated pages are not re-rendered.
    shows: set[str] = field(default_factory=set)
    alerts: str = ""  # the alert integration's id, when the scenario made one


def make_world(slug: str) -> World:
    org = OrganizationFactory(name="Acme Cloud", slug=slug)
    owner = MembershipFactory(
        organization=org, user=UserFactory(display_name="Alice"), role="owner"
    ).user
    dashboard = Client()
    dashboard.force_login(owner)
    api = Client(HTTP_AUTHORIZATION=f"Bearer {ApiKeyFactory(organization=org).secret}")
    EmailSubscriberFactory(organization=org, email=f"reader@{slug}.example.com")
    component = ComponentFactory(organization=org, name="API")
    return World(org, owner, dashboard, api, Client(), component)


# --- what the outputs are --------------------------------------------------------------------

PUBLIC_HTML = {"page": "", "history": "history/", "down": "down/"}
FEEDS = {"atom": "history.atom", "rss": "history.rss"}
V2 = [
    "summary",
    "status",
    "components",
    "incidents",
    "incidents/unresolved",
    "scheduled-maintenances",
    "scheduled-maintenances/upcoming",
    "scheduled-maintenances/active",
]
EVERYTHING = {"public", "incident", "feeds", "ics", "v2", "embed", "badge", "dashboard", "mail"}


def form_post(client: Client, url: str, data: dict[str, str | list[str]]) -> Any:
    """POST a form as a browser would, byte for byte: a lone surrogate travels as its WTF-8
    bytes (what a script can send; browsers replace it), which Django's test client refuses.
    A list is a field sent once per value (checkboxes)."""
    pairs = [
        (key, value.encode("utf-8", "surrogatepass"))
        for key, values in data.items()
        for value in ([values] if isinstance(values, str) else values)
    ]
    body = urlencode(pairs)
    return client.post(url, body, content_type="application/x-www-form-urlencoded")


def as_typed(text: str) -> str:
    """What Django reads from a form field carrying the text: a lone surrogate's bytes are not
    UTF-8, so they arrive as replacement characters."""
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace").strip()


def one_line(text: str) -> str:
    return " ".join(text.split())


def _get(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, f"GET {url}: {response.status_code}"
    return response.content


def render(world: World) -> dict[str, tuple[str, bytes]]:
    """label -> (kind, document) for every output the scenario says shows the field."""
    base = f"/s/{world.org.slug}/"
    shows, found = world.shows, {}
    if "public" in shows:
        for label, path in PUBLIC_HTML.items():
            found[f"public {label}"] = ("html", _get(world.public, base + path))
    if "incident" in shows and world.subject is not None:
        found["incident page"] = (
            "html",
            _get(world.public, f"{base}incidents/{world.subject.public_id}/"),
        )
    if "feeds" in shows:
        for label, path in FEEDS.items():
            found[f"{label} feed"] = ("feed", _get(world.public, base + path))
    if "ics" in shows:
        found["maintenance.ics"] = ("ics", _get(world.public, base + "maintenance.ics"))
    if "v2" in shows:
        for name in V2:
            found[f"{name}.json"] = ("json", _get(world.public, f"{base}api/v2/{name}.json"))
    if "embed" in shows:
        found["embed.json"] = ("json", _get(world.public, base + "embed.json"))
    if "badge" in shows:
        found["badge.svg"] = ("xml", _get(world.public, base + "badge.svg"))
    if "dashboard" in shows:
        slug = world.org.slug
        names = ["organizations:overview", "incidents:list", "status:components"]
        pages = [(name, [slug]) for name in [*names, "notifications:events"]]
        if world.subject is not None and world.subject.kind == "maintenance":
            pages.append(("incidents:maintenance_detail", [slug, world.subject.public_id]))
        elif world.subject is not None:
            pages += [
                (name, [slug, world.subject.public_id])
                for name in ("incidents:detail", "forum:discussion")
            ]
        for name, args in pages:
            found[f"dashboard {name}"] = ("html", _get(world.dashboard, reverse(name, args=args)))
    if "templates" in shows:
        found["dashboard templates"] = (
            "html",
            _get(world.dashboard, reverse("incidents:templates", args=[world.org.slug])),
        )
    if "alerts" in shows:
        slug = world.org.slug
        found["dashboard alerts"] = (
            "html",
            _get(world.dashboard, reverse("integrations:alerts", args=[slug])),
        )
        found["dashboard alert"] = (
            "html",
            _get(world.dashboard, reverse("integrations:alert_detail", args=[slug, world.alerts])),
        )
    if "subscribers" in shows:
        found["dashboard subscribers"] = (
            "html",
            _get(world.dashboard, reverse("notifications:subscribers", args=[world.org.slug])),
        )
    if "mail" in shows:
        for number, message in enumerate(mail.outbox):
            found[f"mail {number}"] = ("mail", message)  # type: ignore[assignment]
        for event in NotificationEvent.objects.filter(organization=world.org):
            renderer = registry.renderer_for(event)
            found[f"webhook {event.kind}"] = ("webhook", json.dumps(renderer.webhook_body(event)))
            found[f"slack {event.kind}"] = ("webhook", json.dumps(slack.message(event)))
    return found


def html_parts(kind: str, document: Any) -> list[str]:
    """The HTML a reader's software would render from one output."""
    if kind == "html":
        return [document.decode()]
    if kind == "feed":
        return outputs.feed_html_parts(outputs.parse_xml("feed", document))
    if kind == "mail":
        html = outputs.html_alternative(document)
        return [html] if html is not None else []
    return []


def check(label: str, kind: str, document: Any, benign: dict[str, list[str]]) -> None:
    if kind in ("feed", "xml"):
        outputs.parse_xml(label, document)
    elif kind == "json":
        outputs.parse_json(label, document)
    elif kind == "ics":
        outputs.assert_well_formed_calendar(document)
    elif kind == "mail":
        outputs.assert_clean_headers(document)
    elif kind == "webhook":
        outputs.parse_json(label, document.encode("utf-8"))
    hostile_parts = html_parts(kind, document)
    baseline = "".join(benign.get(label, []))
    # Mail numbering and event kinds match between the runs: the scenarios are the same.
    for part in hostile_parts:
        outputs.assert_nothing_executable(label, part, baseline)


django_capture_on_commit_callbacks = TestCase.captureOnCommitCallbacks

# --- scenarios: (world, text) -> stored?  Each asserts its own refusal. ------------------------


def incident_by_form(world: World, text: str) -> bool:
    """The dashboard's "Open an incident" form: name and first update body."""
    url = reverse("incidents:new", args=[world.org.slug])
    response = form_post(
        world.dashboard,
        url,
        {
            "name": text,
            "status": "investigating",
            "impact": "auto",
            "body": text,
            f"component_{world.component.public_id}": "major_outage",
            "notify": "on",
        },
    )
    if response.status_code != 302:
        errors = response.context["form"].errors
        assert set(errors) <= {"name", "body"} and errors, f"refused without a field: {errors}"
        assert not Incident.objects.for_org(world.org).exists()
        return False
    world.subject = Incident.objects.for_org(world.org).get()
    world.shows = EVERYTHING
    return True


def incident_by_api(world: World, text: str) -> bool:
    response = world.api.post(
        "/api/v1/incidents/",
        {"name": text, "status": "identified", "body": text},
        content_type=JSON,
    )
    if response.status_code == 400:
        problem = response.json()
        # A field error, or (for text JSON cannot carry) a parse error that says what is wrong.
        assert set(problem) & {"name", "body"} or "surrogate" in problem["detail"], problem
        assert not Incident.objects.for_org(world.org).exists()
        return False
    assert response.status_code == 201, response.content[:300]
    created = response.json()
    assert created["name"] == text.strip()
    world.subject = Incident.objects.for_org(world.org).get()
    world.shows = {"public", "incident", "feeds", "v2", "mail"}
    return True


def organization_name(world: World, text: str) -> bool:
    """The organization settings form: the name is the mail From name, List-Id, page title."""
    response = form_post(
        world.dashboard,
        reverse("organizations:settings", args=[world.org.slug]),
        {
            "name": text,
            "timezone": "UTC",
            "default_language": world.org.default_language,
            "languages": world.org.offered_languages,
        },
    )
    if response.status_code == 200 and response.context and "form" in response.context:
        errors = response.context["form"].errors
        assert "name" in errors, errors
        world.org.refresh_from_db()
        assert world.org.name == "Acme Cloud"
        return False
    assert response.status_code == 302, response.status_code
    world.org.refresh_from_db()
    assert world.org.name == as_typed(text)
    # Something to show in every output: an incident with an update, and a maintenance.
    world.subject = IncidentFactory(organization=world.org, name="Slow sign-in")
    IncidentUpdateFactory(incident=world.subject, body="Looking into it.")
    world.shows = EVERYTHING - {"mail"}
    # Mail goes out from the organization's name: a subscriber's confirmation shows it.
    with django_capture_on_commit_callbacks(execute=True):
        subscribe = world.public.post(
            f"/s/{world.org.slug}/subscribe/",
            {"channel": "email", "email-email": "new@example.net"},
        )
    assert subscribe.status_code in (200, 302), subscribe.status_code
    world.shows = world.shows | {"mail"}
    return True


def _comment(world: World, body: str, author: Any) -> Any:
    client = Client()
    client.force_login(author)
    return form_post(
        client,
        f"/s/{world.org.slug}/incidents/{world.subject.public_id}/comments/",
        {"body": body, "ts": sign_form_timestamp(time.time() - 10), "website": ""},
    )


def comment_body(world: World, text: str) -> bool:
    """A customer's comment in the incident discussion (Markdown, rendered to HTML)."""
    world.subject = IncidentFactory(organization=world.org, name="Slow sign-in")
    response = _comment(world, text, UserFactory(display_name="Casey"))
    if response.status_code != 303:
        assert response.status_code in (200, 400), response.status_code
        assert not Comment.objects.exists()
        return False
    world.shows = {"incident", "dashboard", "mail"}
    return True


def display_name(world: World, text: str) -> bool:
    """The profile form's display name, shown beside the comments a person posts."""
    customer = UserFactory(display_name="Casey")
    client = Client()
    client.force_login(customer)
    response = form_post(client, reverse("accounts:profile"), {"display_name": text})
    customer.refresh_from_db()
    if response.status_code == 200 and "form" in (response.context or {}):
        assert "display_name" in response.context["form"].errors
        assert customer.display_name == "Casey"
        return False
    # Display names are kept on one line (apps.accounts.services.update_profile).
    assert customer.display_name == one_line(as_typed(text)), response.status_code
    world.subject = IncidentFactory(organization=world.org, name="Slow sign-in")
    assert _comment(world, "Same here.", customer).status_code == 303
    world.shows = {"incident", "dashboard", "mail"}
    return True


def form_errors(response: Any) -> dict[str, Any]:
    """The field errors of every form the refusing page rendered."""
    errors: dict[str, Any] = {}
    context = response.context
    # ContextList iterates over its Contexts, not their names: keys() is what gives the names.
    names = context.keys() if context is not None else []
    values = [context[name] for name in names]
    for value in values:
        found = getattr(value, "errors", None)
        if isinstance(found, dict):
            errors.update(found)
    return errors


def dashboard_form(
    world: World, url_name: str, data: dict[str, str], fields: set[str], stored: Callable[[], int]
) -> bool:
    """POST a dashboard form: a redirect means stored; otherwise a field error and no row."""
    response = form_post(world.dashboard, reverse(url_name, args=[world.org.slug]), data)
    if response.status_code in (302, 303):
        assert stored() == 1
        return True
    errors = form_errors(response)
    assert set(errors) & fields, f"refused without naming {fields}: {errors}"
    assert stored() == 0
    return False


def component_fields(world: World, text: str) -> bool:
    """A component's name and description (dashboard form)."""
    done = dashboard_form(
        world,
        "status:component_create",
        {"name": text, "description": text},
        {"name", "description"},
        lambda: Component.objects.for_org(world.org).exclude(pk=world.component.pk).count(),
    )
    world.shows = {"public", "v2", "embed", "badge", "dashboard"}
    return done


def group_fields(world: World, text: str) -> bool:
    from apps.status.models import ComponentGroup

    done = dashboard_form(
        world,
        "status:group_create",
        {"name": text, "description": text},
        {"name", "description"},
        lambda: ComponentGroup.objects.for_org(world.org).count(),
    )
    if done:
        # An empty group is not shown: put the component in it.
        world.component.group = ComponentGroup.objects.for_org(world.org).get()
        world.component.save(update_fields=["group"])
    world.shows = {"public", "v2", "dashboard"}
    return done


def template_fields(world: World, text: str) -> bool:
    """An incident template's name, title and message (dashboard form), then the pages that
    offer it (the templates list and the new-incident form filled from it)."""
    from apps.incidents.models import IncidentTemplate

    done = dashboard_form(
        world,
        "incidents:template_new",
        {
            "kind": "incident",
            "name": text,
            "title": text,
            "status": "investigating",
            "impact": "minor",
            "body": text,
        },
        {"name", "title", "body"},
        lambda: IncidentTemplate.objects.for_org(world.org).count(),
    )
    world.shows = {"dashboard", "templates"}
    return done


def maintenance_by_api(world: World, text: str) -> bool:
    start = timezone.now() + timedelta(hours=2)
    response = world.api.post(
        "/api/v1/maintenances/",
        {
            "name": text,
            "body": text,
            "components": [world.component.public_id],
            "scheduled_for": start.isoformat(),
            "scheduled_until": (start + timedelta(hours=1)).isoformat(),
        },
        content_type=JSON,
    )
    if response.status_code == 400:
        problem = response.json()
        assert set(problem) & {"name", "body"} or "surrogate" in problem["detail"], problem
        assert not Incident.objects.for_org(world.org).exists()
        return False
    assert response.status_code == 201, response.content[:300]
    assert response.json()["name"] == text.strip()
    world.subject = Incident.objects.for_org(world.org).get()
    world.shows = {"public", "incident", "ics", "v2", "feeds", "dashboard", "mail"}
    return True


def postmortem_by_api(world: World, text: str) -> bool:
    incident = IncidentFactory(organization=world.org, name="Slow sign-in", status="resolved")
    url = f"/api/v1/incidents/{incident.public_id}/postmortem/"
    response = world.api.put(
        url, {"summary": text, "customer_impact": text, "cause": text}, content_type=JSON
    )
    if response.status_code == 400:
        problem = response.json()
        assert set(problem) & {"summary", "customer_impact", "cause"} or (
            "surrogate" in problem["detail"]
        ), problem
        return False
    assert response.status_code in (200, 201), response.content[:300]
    item = world.api.post(url + "action-items/", {"title": "Alert earlier"}, content_type=JSON)
    assert item.status_code == 201, item.content[:300]
    published = world.api.post(url + "publish/", {"notify_subscribers": True}, content_type=JSON)
    assert published.status_code == 200, published.content[:300]
    world.subject = incident
    world.shows = {"incident", "feeds", "dashboard", "mail"}
    return True


def alert_payload(world: World, text: str) -> bool:
    """A monitoring system's alert (generic hook): title, labels and annotations. Alerts are
    never refused for their text (control characters are stripped), so they are always shown."""
    integration, token = create_alert_integration(
        world.org, actor=Member.of(world.owner, world.org), kind="generic", name="CI"
    )
    body = {
        "title": text,
        "alerts": [
            {
                "status": "firing",
                "labels": {"component": "API", "alertname": text, "team": text},
                "annotations": {"summary": text, "description": text},
            }
        ],
    }
    raw = json.dumps(body, ensure_ascii=True).encode()  # a lone surrogate as its JSON escape
    response = world.public.post(f"/hooks/{token}/generic", raw, content_type=JSON)
    assert response.status_code in (200, 202, 400), response.content[:300]
    if response.status_code == 400:
        assert "surrogate" in response.json()["detail"], response.json()
        return False
    world.subject = Incident.objects.for_org(world.org).first()
    world.alerts = integration.public_id
    world.shows = {"public", "incident", "feeds", "v2", "dashboard", "alerts", "mail"}
    return True


def subscriber_email(world: World, text: str) -> bool:
    """The public subscribe form's address (the baseline run types a plain address)."""
    address = "reader.benign@example.com" if text == BENIGN else text
    before = Subscriber.objects.for_org(world.org).count()
    with django_capture_on_commit_callbacks(execute=True):
        response = form_post(
            world.public,
            f"/s/{world.org.slug}/subscribe/",
            {"channel": "email", "email-email": address},
        )
    if response.status_code == 400:
        assert response.context["forms"]["email"].errors["email"]
        assert Subscriber.objects.for_org(world.org).count() == before
        return False
    assert response.status_code == 200
    world.shows = {"dashboard", "subscribers", "mail"}
    return True


def webhook_url(world: World, text: str) -> bool:
    """The public subscribe form's webhook URL, with the hostile text in its path."""
    url = "https://hooks.example.com/" + ("status" if text == BENIGN else text)
    before = Subscriber.objects.for_org(world.org).count()

    def public_dns(host: str, port: int, *args: Any, **kwargs: Any) -> list:
        # No real DNS in tests: hooks.example.com is a public address.
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    with mock.patch.object(socket, "getaddrinfo", public_dns):
        response = form_post(
            world.public,
            f"/s/{world.org.slug}/subscribe/",
            {"channel": "webhook", "webhook-url": url, "webhook-email": "ops@example.com"},
        )
    if response.status_code == 400:
        assert response.context["forms"]["webhook"].errors["url"]
        assert Subscriber.objects.for_org(world.org).count() == before
        return False
    assert response.status_code == 200
    world.shows = {"dashboard", "subscribers"}
    return True


SCENARIOS: dict[str, Callable[[World, str], bool]] = {
    "incident-form": incident_by_form,
    "incident-api": incident_by_api,
    "organization-name": organization_name,
    "comment-body": comment_body,
    "display-name": display_name,
    "component": component_fields,
    "component-group": group_fields,
    "template": template_fields,
    "maintenance-api": maintenance_by_api,
    "postmortem-api": postmortem_by_api,
    "alert-payload": alert_payload,
    "subscriber-email": subscriber_email,
    "webhook-url": webhook_url,
}
FULL_CORPUS_FIELDS = ["incident-form", "comment-body", "display-name", "organization-name"]
REPRESENTATIVE_FIELDS = [
    "incident-api",
    "component",
    "component-group",
    "template",
    "maintenance-api",
    "postmortem-api",
    "alert-payload",
    "subscriber-email",
    "webhook-url",
]

CASES = [
    pytest.param(scenario, text, id=f"{scenario}-{name}")
    for scenario in FULL_CORPUS_FIELDS
    for name, text in FULL
] + [
    pytest.param(scenario, text, id=f"{scenario}-{name}")
    for scenario in REPRESENTATIVE_FIELDS
    for name, text in REPRESENTATIVE
]

_BASELINES: dict[str, dict[str, list[str]]] = {}


def baseline(scenario: str) -> dict[str, list[str]]:
    """The HTML of every output of the scenario run with a benign string (own organization)."""
    if scenario not in _BASELINES:
        mail.outbox = []
        world = make_world(f"benign-{scenario}")
        assert SCENARIOS[scenario](world, BENIGN), f"{scenario} refuses a benign string"
        _BASELINES[scenario] = {
            label: html_parts(kind, document) for label, (kind, document) in render(world).items()
        }
        mail.outbox = []
    return _BASELINES[scenario]


@pytest.mark.parametrize(("scenario", "text"), CASES)
def test_hostile_text_is_refused_or_harmless_everywhere(db, scenario, text):
    benign = baseline(scenario)
    world = make_world("acme")

    if not SCENARIOS[scenario](world, text):
        return  # refused with a field error, nothing stored: the scenario checked it

    rendered = render(world)
    assert rendered, "the scenario shows its field nowhere"
    for label, (kind, document) in rendered.items():
        check(label, kind, document, benign)
    if scenario in ROUND_TRIP:
        assert_round_trip(world, rendered)


# Scenarios whose stored incident name must come back unchanged from the status API and show
# as text (escaped, never evaluated: `{{ 7*7 }}` stays `{{ 7*7 }}`) on the incident page.
ROUND_TRIP = {"incident-form", "incident-api", "maintenance-api"}


def assert_round_trip(world: World, rendered: dict[str, tuple[str, Any]]) -> None:
    assert world.subject is not None
    world.subject.refresh_from_db()
    stored = world.subject.name
    documents = [
        outputs.parse_json(label, rendered[label][1])
        for label in ("incidents.json", "scheduled-maintenances.json")
    ]
    names = [
        item["name"]
        for document in documents
        for item in document.get("incidents", document.get("scheduled_maintenances", []))
    ]
    assert stored in names, f"{stored[:80]!r} not in the status API: {names}"
    page = html.unescape(rendered["incident page"][1].decode())
    assert " ".join(stored.split()) in " ".join(page.split()), "the name is not shown as typed"


def test_the_corpus_has_every_family():
    names = set(ids(FULL))
    for family in ("script-tag", "event-handler", "javascript-url", "data-url", "nul"):
        assert family in names
    assert len(REPRESENTATIVE) >= 8
