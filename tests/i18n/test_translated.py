"""What readers get from the real catalogs (locale/): pages, plurals, mail and fallbacks in
each language. Expected texts come from the catalogs themselves (so a better translation does
not break a test), and each must differ from the English to prove the catalog was used."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import translation
from django.utils.translation import ngettext, pgettext

from tests.factories import ComponentFactory

LANGUAGES = ["de", "fr", "es", "ja"]


def _in(language: str, function, *args) -> str:
    with translation.override(language):
        text = str(function(*args))
    with translation.override("en"):
        english = str(function(*args))
    assert text and text != english, f"{language}: {args!r} is not translated"
    return text


@pytest.fixture
def page(org):
    ComponentFactory(organization=org, name="API")
    return org


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_status_page_reads_in_the_browsers_language(client, page, language):
    body = client.get("/s/acme/", HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<html lang="{language}"' in body
    assert _in(language, pgettext, "page status", "All Systems Operational") in body
    assert _in(language, pgettext, "component status", "Operational") in body
    assert _in(language, translation.gettext, "Subscribe to updates") in body
    assert "All Systems Operational" not in body


def test_plural_forms_follow_each_language():
    def minutes(language: str, count: int) -> str:
        with translation.override(language):
            return ngettext("%(count)s minute", "%(count)s minutes", count) % {"count": count}

    assert minutes("en", 1) == "1 minute" and minutes("en", 5) == "5 minutes"
    assert minutes("de", 1) == "1 Minute" and minutes("de", 5) == "5 Minuten"
    # French: 0 and 1 are singular.
    assert minutes("fr", 0).endswith("minute") and minutes("fr", 2).endswith("minutes")
    assert minutes("es", 1) != minutes("es", 5).replace("5", "1")
    # Japanese has one form.
    assert minutes("ja", 1).replace("1", "5") == minutes("ja", 5)


def test_an_unknown_address_speaks_the_readers_language_too(client, page):
    body = client.get("/s/nosuchpage/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert _in("de", translation.gettext, "Page not found") in body
    assert _in("de", translation.gettext, "There is no status page at this address.") in body


def test_a_japanese_subscriber_gets_japanese_mail(client, page, django_capture_on_commit_callbacks):
    client.cookies["candor_language"] = "ja"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/s/acme/subscribe/", {"channel": "email", "email-email": "kenji@example.test"}
        )
    assert response.status_code in (200, 302)
    [message] = mail.outbox
    html = message.alternatives[0][0]
    assert '<html lang="ja"' in html
    assert message.subject.isascii() is False  # a Japanese subject
    assert "Confirm" not in message.subject
