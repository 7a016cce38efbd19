"""Management API: `/api/v1/text-check/`, the dashboard's plain-language check for scripts.

POST a text, get the findings the dashboard shows beside its forms (reading ease, long
sentences, jargon with plainer words, phrases that play the impact down), with the key's
organization's word lists. GET returns those lists. Nothing is written either way; checking is
guidance and never a condition for publishing.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.credentials import credential_of
from apps.api.fields import StrictSerializer
from apps.api.permissions import HasApiKeyScope
from apps.api.schema import error_responses

from . import checker
from .models import PlainLanguageSettings

TAGS = ["text-check"]


class TextCheckRequestSerializer(StrictSerializer):
    text = serializers.CharField(
        max_length=checker.MAX_TEXT_CHARS,
        trim_whitespace=False,
        help_text="The text to check: an update, a maintenance notice, a postmortem section "
        f"(at most {checker.MAX_TEXT_CHARS} characters).",
        error_messages={
            "blank": "Give the text to check.",
            "required": "Give the text to check as `text`.",
            "max_length": f"Check at most {checker.MAX_TEXT_CHARS} characters at a time "
            "(a long postmortem one section at a time).",
        },
    )

    def validate_text(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("Give the text to check.")
        return value


class ReadingEaseSerializer(serializers.Serializer):
    score = serializers.IntegerField(
        allow_null=True,
        min_value=0,
        max_value=100,
        help_text="Flesch reading ease from 0 (very hard) to 100 (very easy); 60 and up is "
        "plain English. Null when the text has no words.",
    )
    verdict = serializers.ChoiceField(
        choices=["easy", "plain", "fairly_hard", "hard", "very_hard", "empty"]
    )
    label = serializers.CharField(help_text="The verdict in words, as the dashboard shows it.")


class LongSentenceSerializer(serializers.Serializer):
    excerpt = serializers.CharField(help_text="The sentence's first words, to find it.")
    words = serializers.IntegerField()


class JargonFoundSerializer(serializers.Serializer):
    term = serializers.CharField(help_text="The list entry that matched.")
    found = serializers.CharField(help_text="The words as written in the text (first match).")
    count = serializers.IntegerField()
    suggestion = serializers.CharField(help_text="Plainer words to use.")
    source = serializers.ChoiceField(choices=["built-in", "organization"])


class MinimisingFoundSerializer(serializers.Serializer):
    phrase = serializers.CharField()
    found = serializers.CharField()
    count = serializers.IntegerField()
    hint = serializers.CharField()


class TextCheckResultSerializer(serializers.Serializer):
    reading_ease = ReadingEaseSerializer()
    words = serializers.IntegerField()
    sentences = serializers.IntegerField()
    long_sentence_words = serializers.IntegerField(
        help_text="The organization's limit: longer sentences are listed."
    )
    long_sentences = LongSentenceSerializer(many=True)
    jargon = JargonFoundSerializer(many=True)
    minimising = MinimisingFoundSerializer(
        many=True, help_text="Phrases that play the impact down (“brief blip”, “just”)."
    )


class JargonEntrySerializer(serializers.Serializer):
    term = serializers.CharField()
    forms = serializers.ListField(
        child=serializers.CharField(), help_text="Other spellings that count as the term."
    )
    suggestion = serializers.CharField(allow_blank=True)
    source = serializers.ChoiceField(choices=["built-in", "organization"])


class MinimisingEntrySerializer(serializers.Serializer):
    phrase = serializers.CharField()
    hint = serializers.CharField()


class WordListsSerializer(serializers.Serializer):
    long_sentence_words = serializers.IntegerField()
    jargon = JargonEntrySerializer(many=True)
    minimising = MinimisingEntrySerializer(many=True)


def _lists_json(lists: checker.WordLists) -> dict:
    return {
        "long_sentence_words": lists.long_sentence_words,
        "jargon": [
            {
                "term": entry.term,
                "forms": list(entry.forms),
                "suggestion": entry.suggestion,
                "source": "built-in" if entry.builtin else "organization",
            }
            for entry in lists.jargon
        ],
        "minimising": [
            {
                "phrase": phrase,
                "hint": checker.BUILTIN_MINIMISING.get(
                    phrase.lower(), f"“{phrase}” {checker.MINIMISING_HINT}"
                ),
            }
            for phrase in lists.minimising
        ],
    }


class TextCheckPermission(HasApiKeyScope):
    message = "Checking text is part of writing it: use an API key with write scope."


class TextCheckView(APIView):
    """Not an OrgViewSet: there is no object, only the key's organization's word lists."""

    permission_classes = [TextCheckPermission]

    def _lists(self, request: Request) -> checker.WordLists:
        organization = credential_of(request).organization
        return PlainLanguageSettings.for_org(organization).word_lists()

    @extend_schema(
        operation_id="text_check_lists",
        summary="Get the word lists the text check uses",
        description="The sentence-length limit, the jargon (the built-in list without the terms "
        "the organization marked as known, plus its own terms) and the phrases that play the "
        "impact down, as set on the dashboard's Plain language page.",
        tags=TAGS,
        responses={200: WordListsSerializer, **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return Response(_lists_json(self._lists(request)))

    @extend_schema(
        operation_id="text_check_create",
        summary="Check a text for plain language",
        description="The findings the dashboard shows while staff write: the reading-ease "
        "score with a verdict, sentences above the organization's length limit, jargon found "
        "with plainer words, and phrases that play the impact down. Guidance only: nothing is "
        "written, and publishing never depends on it. Needs a key with write scope.",
        tags=TAGS,
        request=TextCheckRequestSerializer,
        responses={200: TextCheckResultSerializer, **error_responses(400, 403, 413, 415)},
        examples=[
            OpenApiExample(
                "An update with jargon",
                value={"text": "We saw elevated latency from an upstream DNS provider."},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        serializer = TextCheckRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        findings = checker.check_text(serializer.validated_data["text"], self._lists(request))
        return Response(findings.as_json())
