"""An organization can require two-factor authentication of its members: owners set it (having
it themselves), members without it are sent to set it up from any dashboard page and brought
back, other organizations are unaffected, API keys too; the team page shows who has it."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.organizations import services
from apps.organizations.models import AuditEntry, Membership
from apps.organizations.roles import Role

from ..factories import PASSWORD, MembershipFactory, member

pytestmark = pytest.mark.django_db

SECRET = "JBSWY3DPEHPK3PXP"


def enable_two_factor(user) -> None:
    TOTP.activate(user, SECRET)


def settings_url(org) -> str:
    return reverse("organizations:settings", args=[org.slug])


def save_settings(client, org, **extra):
    data = {
        "name": org.name,
        "timezone": org.timezone,
        "default_language": org.default_language,
        "languages": org.offered_languages,
        **extra,
    }
    return client.post(settings_url(org), data)


def setup_url_for(path: str) -> str:
    from urllib.parse import urlencode

    return f"{reverse('mfa_activate_totp')}?{urlencode({'next': path})}"


@pytest.fixture
def requiring(org, owner):
    enable_two_factor(owner)
    services.set_two_factor_requirement(org, actor=member(owner, org), required=True)
    return org


# --- who may set it --------------------------------------------------------------------------


def test_an_owner_with_two_factor_turns_the_requirement_on_and_it_is_audited(client, org, owner):
    enable_two_factor(owner)
    client.force_login(owner)
    response = save_settings(client, org, require_two_factor="on")
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.require_two_factor
    entry = AuditEntry.objects.get(organization=org, action="organization.require_two_factor")
    assert entry.actor == owner
    assert entry.data == {"changes": {"require_two_factor": [False, True]}}
    # And off again: unchecked.
    assert save_settings(client, org).status_code == 302
    org.refresh_from_db()
    assert not org.require_two_factor
    assert AuditEntry.objects.filter(action="organization.require_two_factor").count() == 2


def test_an_owner_without_two_factor_cannot_turn_it_on(client, org, owner):
    client.force_login(owner)
    response = save_settings(client, org, require_two_factor="on", name="Renamed")
    assert response.status_code == 400
    assert (
        "Set up two-factor authentication for your own account first" in response.content.decode()
    )
    org.refresh_from_db()
    assert not org.require_two_factor
    assert org.name == "Acme Cloud"  # nothing from the refused form was saved
    assert not AuditEntry.objects.filter(organization=org).exists()


def test_only_owners_may_set_it(client, org, owner, admin):
    enable_two_factor(admin)
    client.force_login(admin)
    page = client.get(settings_url(org)).content.decode()
    assert 'name="require_two_factor"' not in page
    assert "Only owners can change this" in page
    # A crafted field from an admin is not part of the form, so it changes nothing.
    assert save_settings(client, org, require_two_factor="on").status_code == 302
    org.refresh_from_db()
    assert not org.require_two_factor
    with pytest.raises(PermissionDenied):
        services.set_two_factor_requirement(org, actor=member(admin, org), required=True)
    # The owner's form has it, with the help text about API keys.
    client.force_login(owner)
    page = client.get(settings_url(org)).content.decode()
    assert 'name="require_two_factor"' in page
    assert "API keys are not affected" in page


def test_the_service_refuses_an_owner_without_two_factor(org, owner):
    with pytest.raises(ValidationError) as caught:
        services.set_two_factor_requirement(org, actor=member(owner, org), required=True)
    assert "require_two_factor" in caught.value.message_dict


# --- enforcement -----------------------------------------------------------------------------


def test_a_member_without_two_factor_is_sent_to_set_it_up(client, requiring, editor):
    client.force_login(editor)
    path = reverse("incidents:list", args=[requiring.slug]) + "?status=open"
    response = client.get(path)
    assert response.status_code == 302
    assert response.url == setup_url_for(path)
    # The setup page says which organization asks for it.
    page = client.get(response.url, follow=True).content.decode()
    assert "Acme Cloud requires two-factor authentication" in page


def test_a_form_posted_without_two_factor_is_sent_back_to_the_overview(client, requiring, editor):
    client.force_login(editor)
    response = client.post(reverse("organizations:leave", args=[requiring.slug]))
    assert response.status_code == 302
    assert response.url == setup_url_for(reverse("organizations:overview", args=[requiring.slug]))
    assert Membership.objects.filter(user=editor, organization=requiring).exists()


def test_a_member_with_two_factor_goes_straight_in(client, requiring, editor):
    enable_two_factor(editor)
    client.force_login(editor)
    assert client.get(reverse("organizations:overview", args=[requiring.slug])).status_code == 200


def test_recovery_codes_alone_are_not_two_factor(client, requiring, editor):
    Authenticator.objects.create(
        user=editor, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00", "used_mask": 0}
    )
    client.force_login(editor)
    response = client.get(reverse("organizations:overview", args=[requiring.slug]))
    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa_activate_totp"))


def test_setting_it_up_brings_the_member_back(client, requiring, editor):
    path = reverse("organizations:members", args=[requiring.slug])
    client.post(reverse("account_login"), {"login": editor.email, "password": PASSWORD})
    assert client.get(path).url == setup_url_for(path)
    # allauth's own setup: the authenticator app's code for the secret it shows.
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert client.get(reverse("mfa_activate_totp"), {"next": path}).status_code == 200
    secret = client.session["mfa.totp.secret"]
    from allauth.mfa.totp.internal.auth import yield_hotp_counters_from_time

    counters = list(yield_hotp_counters_from_time())
    code = format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))
    response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302
    codes_page = client.get(response.url).content.decode()
    assert f'<a href="{path}">continue where you were</a>' in codes_page
    assert client.get(path).status_code == 200
    # Back: the link has done its work.
    codes_page = client.get(reverse("mfa_view_recovery_codes")).content.decode()
    assert "continue where you were" not in codes_page


def test_another_organizations_requirement_does_not_apply(client, requiring, other_org, editor):
    # A member of both, without two-factor: the other organization works as before.
    MembershipFactory(organization=other_org, user=editor, role=Role.EDITOR)
    client.force_login(editor)
    assert client.get(reverse("organizations:overview", args=[other_org.slug])).status_code == 200
    assert client.get(reverse("organizations:overview", args=[requiring.slug])).status_code == 302
    # And the list of one's organizations (no organization's page) stays open.
    assert client.get(reverse("orgs:home")).status_code == 200


def test_api_keys_are_not_affected(client, requiring, api_key):
    response = client.get("/api/v1/components/", HTTP_AUTHORIZATION=f"Bearer {api_key.secret}")
    assert response.status_code == 200


# --- who has it ------------------------------------------------------------------------------


def test_the_team_page_shows_who_has_two_factor_and_how_many_still_need_it(
    client, requiring, owner, editor, viewer
):
    enable_two_factor(viewer)
    client.force_login(owner)
    page = client.get(reverse("organizations:members", args=[requiring.slug])).content.decode()
    assert '<th scope="col">Two-factor</th>' in page
    assert page.count('<span class="badge badge-ok">On</span>') == 2  # owner, viewer
    assert page.count('<span class="badge badge-warn">Off</span>') == 1  # editor
    assert "1 member still needs to set it up" in page
    settings_page = client.get(settings_url(requiring)).content.decode()
    assert "1 member</a> still needs to set up two-factor authentication" in settings_page

    enable_two_factor(editor)
    page = client.get(reverse("organizations:members", args=[requiring.slug])).content.decode()
    assert "Every member has it." in page


def test_without_the_requirement_the_team_page_still_shows_the_column(client, org, owner, editor):
    enable_two_factor(owner)
    client.force_login(owner)
    page = client.get(reverse("organizations:members", args=[org.slug])).content.decode()
    assert '<td data-label="Two-factor"><span class="badge badge-ok">On</span></td>' in page
    assert '<td data-label="Two-factor"><span class="badge">Off</span></td>' in page
    assert "still need" not in page
