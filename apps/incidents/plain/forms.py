from __future__ import annotations

from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_lazy

from apps.core.validators import TextRulesFormMixin

from . import checker


def _known_terms_help() -> str:
    return gettext(
        "Not flagged for your organization. One a line, from the built-in list: %(terms)s."
    ) % {"terms": ", ".join(entry.term for entry in checker.BUILTIN_JARGON)}


class PlainLanguageSettingsForm(TextRulesFormMixin, forms.Form):
    own_jargon = forms.CharField(
        label=gettext_lazy("Your own jargon"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(
            attrs={
                "rows": 6,
                "placeholder": gettext_lazy("edge node = one of our servers near you"),
            }
        ),
        help_text=gettext_lazy(
            "Internal names and terms your readers would not know, one a line, with "
            "the plainer words after “=”: “edge node = one of our servers near you”."
        ),
    )
    known_terms = forms.CharField(
        label=gettext_lazy("Built-in terms your readers know"),
        required=False,
        max_length=5_000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "DNS"}),
        # Lazy: the message is translated when the form is shown, not when this module loads.
        help_text=lazy(_known_terms_help, str)(),
    )
    minimising_phrases = forms.CharField(
        label=gettext_lazy("Phrases that play the impact down"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=gettext_lazy(
            "One a line; a gentle warning is shown where they appear. Empty the box to "
            "turn these warnings off."
        ),
    )
    long_sentence_words = forms.IntegerField(
        label=gettext_lazy("A sentence is long above this many words"),
        min_value=checker.MIN_LONG_SENTENCE_WORDS,
        max_value=checker.MAX_LONG_SENTENCE_WORDS,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def clean(self) -> dict:
        data = super().clean()
        # Every unusable line at once, named, before the service would refuse the first.
        errors = checker_errors(
            own_jargon=data.get("own_jargon", ""),
            known_terms=data.get("known_terms", ""),
            minimising_phrases=data.get("minimising_phrases", ""),
        )
        for field, messages in errors.items():
            self.add_error(field, messages)
        return data


def checker_errors(**lists: str) -> dict[str, list[str]]:
    parsers = {
        "own_jargon": checker.parse_jargon,
        "known_terms": checker.parse_known_terms,
        "minimising_phrases": checker.parse_phrases,
    }
    found = {name: parsers[name](text or "")[1] for name, text in lists.items()}
    return {name: messages for name, messages in found.items() if messages}
