"""The response scorecard's card on an incident's dashboard page (a tag, so the incident view
needs no change and the card's two queries are made only where it is shown)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template

from ..models import Incident
from ..scorecard.figures import DEFAULT_DAYS, duration_text, incident_score

register = template.Library()


@register.inclusion_tag("incidents/dashboard/_scorecard_card.html", takes_context=True)
def incident_scorecard(context: Any, incident: Incident) -> dict[str, Any]:
    return {
        "org": context["org"],
        "incident": incident,
        "score": incident_score(incident),
        "days": DEFAULT_DAYS,
    }


@register.filter
def duration_words(value: timedelta) -> str:
    """A duration as the scorecard says it ("12 min", "2 h 5 min")."""
    return duration_text(value)
