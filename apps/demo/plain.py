"""The demo's plain-language help: the organization's own word lists, and an engineer's draft
(an incident template) whose wording the composer's findings panel picks apart as soon as staff
start an incident from it."""

from __future__ import annotations

from apps.incidents import services as incidents
from apps.incidents.models import Impact, IncidentStatus
from apps.incidents.plain.checker import default_minimising_text
from apps.incidents.plain.services import save_plain_language_settings
from apps.organizations.models import Organization
from apps.organizations.principals import Member

DRAFT_NAME = "Engineer's draft: slow API (check its wording)"
DRAFT_BODY = (
    "We are seeing elevated latency and intermittent 5xx errors on the API because of an "
    "upstream DNS issue, and failover to the secondary region is in progress while we "
    "investigate the root cause. Only a few users are impacted; it is just a brief blip."
)


def add_plain_language_demo(organization: Organization, *, actor: Member) -> None:
    save_plain_language_settings(
        organization,
        actor=actor,
        own_jargon="secondary region = our backup data centre\n"
        "Bifrost = our sign-in service\n"
        "edge node = one of our servers near you",
        known_terms="",
        minimising_phrases=default_minimising_text(),
        long_sentence_words=25,
    )
    incidents.create_template(
        organization,
        actor=actor,
        name=DRAFT_NAME,
        title="Elevated API latency",
        body=DRAFT_BODY,
        status=IncidentStatus.INVESTIGATING,
        impact=Impact.MINOR,
    )
