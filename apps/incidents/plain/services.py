"""The one write of the plain-language checker: an organization saves its word lists."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.organizations.models import AuditEntry, Organization

from . import checker
from .models import PlainLanguageSettings

if TYPE_CHECKING:
    from apps.organizations.principals import Principal

# Editors write the public text, so they keep the lists that help them write it.
EDIT = "incidents.edit"
FIELDS = ("own_jargon", "known_terms", "minimising_phrases", "long_sentence_words")


def validate_lists(
    *, own_jargon: str, known_terms: str, minimising_phrases: str, long_sentence_words: int
) -> dict[str, list[str]]:
    """{field: [messages]} for every list line that cannot be used (empty when all is well)."""
    errors = {
        "own_jargon": checker.parse_jargon(own_jargon)[1],
        "known_terms": checker.parse_known_terms(known_terms)[1],
        "minimising_phrases": checker.parse_phrases(minimising_phrases)[1],
        "long_sentence_words": []
        if checker.MIN_LONG_SENTENCE_WORDS <= long_sentence_words <= checker.MAX_LONG_SENTENCE_WORDS
        else [
            f"Choose between {checker.MIN_LONG_SENTENCE_WORDS} and "
            f"{checker.MAX_LONG_SENTENCE_WORDS} words."
        ],
    }
    return {name: messages for name, messages in errors.items() if messages}


@transaction.atomic
def save_plain_language_settings(
    organization: Organization,
    *,
    actor: Principal,
    own_jargon: str,
    known_terms: str,
    minimising_phrases: str,
    long_sentence_words: int,
) -> PlainLanguageSettings:
    """Save the organization's lists (ValidationError naming each bad line; nothing written
    then). Audited with the fields that changed."""
    actor.require(EDIT, organization)
    errors = validate_lists(
        own_jargon=own_jargon,
        known_terms=known_terms,
        minimising_phrases=minimising_phrases,
        long_sentence_words=long_sentence_words,
    )
    if errors:
        raise ValidationError(errors)
    settings_row, _created = PlainLanguageSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    values = {
        "own_jargon": own_jargon.strip(),
        "known_terms": known_terms.strip(),
        "minimising_phrases": minimising_phrases.strip(),
        "long_sentence_words": long_sentence_words,
    }
    changed = [name for name, value in values.items() if getattr(settings_row, name) != value]
    if changed or _created:
        for name, value in values.items():
            setattr(settings_row, name, value)
        settings_row.save()
        AuditEntry.record(
            organization,
            actor=actor,
            action="incidents.plain_language_settings",
            data={"changed": changed},
        )
    return settings_row
