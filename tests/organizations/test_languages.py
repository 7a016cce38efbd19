"""The settings page's Languages section: the default and the languages readers can choose."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import translation

from apps.organizations import services
from apps.organizations.emails import send_invitation_email
from apps.organizations.forms import language_choices
from apps.organizations.models import AuditEntry
from apps.organizations.principals import Member
from tests.factories import InvitationFactory

pytestmark = pytest.mark.django_db


def settings_url(org) -> str:
    return reverse("organizations:settings", args=[org.slug])


def form_data(org, **changes) -> dict:
    data = {
        "name": org.name,
        "timezone": org.timezone,
        "default_language": org.default_language,
        "languages": org.offered_languages,
    }
    return {**data, **changes}


def test_the_section_names_each_language_in_its_own_name(login, org, admin):
    page = login(admin).get(settings_url(org)).content.decode()
    assert "Languages readers can choose" in page
    assert "Deutsch (German)" in page
    assert "日本語 (Japanese)" in page
    assert "the switcher at the foot of the page" in page


def test_an_admin_chooses_the_languages_and_it_is_audited(login, org, admin):
    response = login(admin).post(
        settings_url(org), form_data(org, default_language="de", languages=["de", "fr"])
    )
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.default_language == "de"
    assert org.languages == ["de", "fr"]
    entry = AuditEntry.objects.get(organization=org, action="organization.languages")
    assert entry.data["changes"]["default_language"] == ["en", "de"]
    assert entry.data["changes"]["languages"][1] == ["de", "fr"]
    assert entry.actor == admin


def test_the_default_is_offered_even_when_left_unchecked(login, org, admin):
    login(admin).post(settings_url(org), form_data(org, default_language="ja", languages=["fr"]))
    org.refresh_from_db()
    assert org.default_language == "ja"
    assert org.languages == ["fr", "ja"]


def test_no_language_checked_leaves_the_default_alone_offered(login, org, admin):
    login(admin).post(settings_url(org), form_data(org, default_language="es", languages=[]))
    org.refresh_from_db()
    assert org.languages == ["es"]


def test_an_unknown_code_is_a_form_error(login, org, admin):
    before = org.languages
    response = login(admin).post(settings_url(org), form_data(org, languages=["en", "xx"]))
    assert response.status_code == 200
    assert response.context["form"].errors["languages"]
    org.refresh_from_db()
    assert org.languages == before
    assert not AuditEntry.objects.filter(action="organization.languages").exists()


def test_an_unknown_default_is_a_form_error(login, org, admin):
    response = login(admin).post(settings_url(org), form_data(org, default_language="xx"))
    assert response.status_code == 200
    assert response.context["form"].errors["default_language"]
    org.refresh_from_db()
    assert org.default_language == "en"


def test_changing_the_languages_bumps_the_content_version(
    login, org, admin, django_capture_on_commit_callbacks
):
    before = org.content_version
    with django_capture_on_commit_callbacks(execute=True):
        login(admin).post(settings_url(org), form_data(org, languages=["en", "de"]))
    org.refresh_from_db()
    assert org.content_version == before + 1


def test_an_unchanged_choice_does_not_bump_the_version(
    login, org, admin, django_capture_on_commit_callbacks
):
    before = org.content_version
    with django_capture_on_commit_callbacks(execute=True):
        login(admin).post(settings_url(org), form_data(org))
    org.refresh_from_db()
    assert org.content_version == before


def test_a_viewer_sees_the_languages_but_cannot_change_them(login, org, viewer):
    client = login(viewer)
    page = client.get(settings_url(org)).content.decode()
    assert "Deutsch (German)" in page
    response = client.post(settings_url(org), form_data(org, languages=["en"]))
    assert response.status_code == 403
    org.refresh_from_db()
    assert org.languages == ["en", "de", "fr", "es", "ja"]


def test_another_organizations_member_cannot_change_them(login, org, outsider):
    response = login(outsider).post(settings_url(org), form_data(org, languages=["en"]))
    assert response.status_code == 404
    org.refresh_from_db()
    assert org.languages == ["en", "de", "fr", "es", "ja"]


def test_the_service_refuses_a_viewer_and_unknown_codes(org, admin, viewer):
    with pytest.raises(PermissionDenied):
        services.set_page_languages(
            org, actor=Member.of(viewer, org), default_language="en", languages=["en"]
        )
    with pytest.raises(ValidationError, match="not a language Candor speaks"):
        services.set_page_languages(
            org, actor=Member.of(admin, org), default_language="en", languages=["en", "klingon"]
        )
    org.refresh_from_db()
    assert org.languages == ["en", "de", "fr", "es", "ja"]


def test_the_dashboard_answers_in_english_whatever_the_browser_asks(login, org, admin):
    page = login(admin).get(settings_url(org), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<html lang="en"' in page
    assert "Languages readers can choose" in page
    assert "Français (French)" in page


def test_each_language_is_named_in_the_active_language_beside_its_own_name():
    # Django's own catalogs name languages, so this is a real translation, not a msgid.
    with translation.override("de"):
        choices = dict(language_choices())
    assert choices["fr"] == "Français (Französisch)"
    assert choices["de"] == "Deutsch"


def test_the_invitation_mail_says_which_language_it_is_in(org, owner):
    invitation = InvitationFactory(organization=org, invited_by=owner)
    with translation.override("de"):
        send_invitation_email(invitation, "https://candor.test/invitations/x/")
    html, _type = mail.outbox[0].alternatives[0]
    assert '<html lang="de">' in html
