"""The organization's own word lists for the plain-language checker."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from . import checker


class PlainLanguageSettings(models.Model):
    """Per-organization lists, created the first time staff save them; an organization without
    a row checks with the built-in lists (`for_org` gives those unsaved defaults)."""

    organization = models.OneToOneField(
        "organizations.Organization",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="+",
    )
    # "term = plainer words", one a line: checked on top of the built-in list.
    own_jargon = models.TextField(blank=True)
    # Built-in terms this organization's readers know (one a line): not flagged.
    known_terms = models.TextField(blank=True)
    # The whole list of phrases that play the impact down (starts as the built-in one).
    minimising_phrases = models.TextField(blank=True, default=checker.default_minimising_text)
    long_sentence_words = models.PositiveSmallIntegerField(
        default=checker.DEFAULT_LONG_SENTENCE_WORDS,
        validators=[
            MinValueValidator(checker.MIN_LONG_SENTENCE_WORDS),
            MaxValueValidator(checker.MAX_LONG_SENTENCE_WORDS),
        ],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "incidents"
        verbose_name_plural = "plain-language settings"

    def __str__(self) -> str:
        return f"Plain-language settings of {self.organization_id}"

    @classmethod
    def for_org(cls, organization) -> PlainLanguageSettings:
        """The organization's settings (unsaved defaults when it has none yet)."""
        found = cls.objects.filter(organization=organization).first()
        return found or cls(organization=organization)

    def word_lists(self) -> checker.WordLists:
        return checker.word_lists(
            own_jargon=self.own_jargon,
            known_terms=self.known_terms,
            minimising_phrases=self.minimising_phrases,
            long_sentence_words=self.long_sentence_words,
        )
