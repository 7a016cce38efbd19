"""`manage.py demo` shows the plain-language help: the organization's own word lists and an
engineer's draft template whose wording the panel picks apart."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command
from django.urls import reverse

from apps.accounts.models import User
from apps.demo.plain import DRAFT_BODY, DRAFT_NAME
from apps.incidents.models import IncidentTemplate, PlainLanguageSettings
from apps.organizations.models import Organization


def test_the_demo_has_word_lists_and_a_draft_that_shows_the_hints(db, client):
    call_command("demo", "--incidents", "3", "--history-days", "5", stdout=StringIO())
    demo = Organization.objects.get(slug="demo")
    assert "secondary region" in PlainLanguageSettings.objects.get(organization=demo).own_jargon
    template = IncidentTemplate.objects.for_org(demo).get(name=DRAFT_NAME)

    client.force_login(User.objects.get(email="editor@example.test"))
    composer = client.get(
        reverse("incidents:new", args=["demo"]) + f"?template={template.public_id}"
    )
    assert DRAFT_BODY in composer.content.decode()
    assert "load, keyup changed" in composer.content.decode()  # the panel checks it at once
    findings = client.post(
        reverse("incidents:plain_check", args=["demo"]), {"body": DRAFT_BODY}
    ).content.decode()
    assert "Plainer: our backup data centre" in findings
    assert "“Only a few users”" in findings
    assert "“latency”" in findings
