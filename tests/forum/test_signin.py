"""Sign in to comment on a status page's own address: /s/<slug>/ on the application host,
<slug>.<STATUS_PAGE_DOMAIN>, and a verified custom domain (apps/forum/views_signin.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from apps.forum import services as forum
from apps.organizations.principals import Member
from tests.factories import PASSWORD, DomainFactory, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()

CUSTOM_DOMAIN = "status.acme-cloud.com"
INCIDENT_PATH = "incidents/abc123/"


@dataclass
class Page:
    """A client on one of the status page's addresses; `path("x/")` is x/ on that page."""

    client: Client
    host: str
    prefix: str

    def path(self, rest: str = "") -> str:
        return self.prefix + rest

    def get(self, rest: str, **data):
        return self.client.get(self.path(rest), data, HTTP_HOST=self.host)

    def post(self, rest: str, data: dict | None = None):
        return self.client.post(self.path(rest), data or {}, HTTP_HOST=self.host)

    def user(self):
        return self.get("signin/").wsgi_request.user


ADDRESSES = {
    "path": ("testserver", "/s/acme/"),
    "subdomain": ("acme.status.localhost", "/"),
    "custom-domain": (CUSTOM_DOMAIN, "/"),
}


def page_on(kind: str, org) -> Page:
    if kind == "custom-domain":
        DomainFactory(organization=org, hostname=CUSTOM_DOMAIN, verified_at=timezone.now())
    host, prefix = ADDRESSES[kind]
    return Page(Client(), host, prefix)


@pytest.fixture(params=list(ADDRESSES))
def on_page(request, org):
    return page_on(request.param, org)


@pytest.fixture
def on_subdomain(org):
    return page_on("subdomain", org)


def code_in(message) -> str:
    return re.search(r"^([A-Z0-9]{4}-[A-Z0-9]{4})$", message.body, re.MULTILINE)[1]


def ask_for_code(page: Page, email: str, next_path: str = ""):
    return page.post("signin/", {"email": email, "next": next_path or page.path(INCIDENT_PATH)})


def enter_code(page: Page, code: str, next_path: str = ""):
    return page.post("signin/code/", {"code": code, "next": next_path or page.path(INCIDENT_PATH)})


# --- code sign-in on every address ----------------------------------------------------------


def test_a_new_address_signs_in_with_a_code_and_chooses_a_name(on_page, org):
    page = on_page
    response = ask_for_code(page, "New.Person@Customer.test")
    assert response.status_code == 302
    assert response.url.startswith(page.path("signin/code/?next="))

    user = User.objects.get(email="new.person@customer.test")
    assert not user.has_usable_password()
    assert not EmailAddress.objects.get(user=user).verified
    (message,) = mail.outbox
    assert message.to == ["new.person@customer.test"]

    code_page = page.get("signin/code/", next=page.path(INCIDENT_PATH))
    assert code_page.status_code == 200
    assert b"new.person@customer.test" in code_page.content
    assert b"Acme Cloud" in code_page.content  # the page's own frame, not the dashboard's

    response = enter_code(page, code_in(message))
    assert response.status_code == 302
    assert response.url == page.path("signin/name/?next=") + page.path(INCIDENT_PATH).replace(
        "/", "%2F"
    )
    assert page.user() == user
    assert EmailAddress.objects.get(user=user).verified

    response = page.post("signin/name/", {"display_name": "Nia", "next": page.path(INCIDENT_PATH)})
    assert response.status_code == 302
    assert response.url == page.path(INCIDENT_PATH)
    user.refresh_from_db()
    assert user.display_name == "Nia"


def test_an_existing_address_signs_in_to_its_account(on_page, customer):
    page = on_page
    accounts = User.objects.count()
    ask_for_code(page, "Casey@Customer.test")
    assert User.objects.count() == accounts

    response = enter_code(page, code_in(mail.outbox[0]))
    # Casey has a display name the organization accepts: straight back to the incident.
    assert response.status_code == 302
    assert response.url == page.path(INCIDENT_PATH)
    assert page.user() == customer


def test_the_session_cookie_belongs_to_the_page_host_alone(on_subdomain, customer):
    ask_for_code(on_subdomain, customer.email)
    response = enter_code(on_subdomain, code_in(mail.outbox[0]))
    cookie = response.cookies["sessionid"]
    assert cookie.value
    assert cookie["domain"] == ""  # host-only: the browser sends it to this host only
    # The application host does not know this session's browser.
    assert not Client().get("/accounts/profile/").wsgi_request.user.is_authenticated


def test_the_code_mail_names_the_status_page(on_subdomain, customer):
    ask_for_code(on_subdomain, customer.email)
    (message,) = mail.outbox
    assert message.subject == "Your code to comment on the Acme Cloud status page"
    assert "Acme Cloud status" in message.from_email
    assert "comment on the Acme Cloud status page" in message.body
    assert "It works for 3 minutes, once." in message.body
    assert "Candor" not in message.body
    assert code_in(message)


def test_a_wrong_code_says_so_and_three_start_over(on_subdomain, customer):
    ask_for_code(on_subdomain, customer.email)
    for _ in range(2):
        response = enter_code(on_subdomain, "AAAA-AAAA")
        assert response.status_code == 400
        assert b"That code is not right" in response.content
        assert not on_subdomain.user().is_authenticated
    response = enter_code(on_subdomain, "AAAA-AAAA")
    assert response.status_code == 400
    assert b"wrong too many times" in response.content
    # The right code no longer works either: the attempt is over.
    response = enter_code(on_subdomain, code_in(mail.outbox[0]))
    assert b"has expired" in response.content
    assert not on_subdomain.user().is_authenticated


def test_an_expired_code_asks_for_a_new_one(on_subdomain, customer, settings):
    ask_for_code(on_subdomain, customer.email)
    settings.ACCOUNT_LOGIN_BY_CODE_TIMEOUT = -1
    response = enter_code(on_subdomain, code_in(mail.outbox[0]))
    assert response.status_code == 400
    assert b"Your sign-in code has expired. Enter your email to get a new one." in response.content
    assert not on_subdomain.user().is_authenticated


def test_asking_for_codes_is_rate_limited_per_address(on_subdomain, customer):
    # ACCOUNT_RATE_LIMITS["request_login_code"]: 3 a minute per address.
    for _ in range(3):
        assert ask_for_code(on_subdomain, customer.email).status_code == 302
    response = ask_for_code(on_subdomain, customer.email)
    assert response.status_code == 429
    assert b"Too many sign-in attempts" in response.content
    assert len(mail.outbox) == 3


def test_a_new_code_can_be_sent_again_when_allauth_allows_resending(
    on_subdomain, customer, settings
):
    settings.ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True
    ask_for_code(on_subdomain, customer.email)
    response = on_subdomain.post("signin/code/", {"action": "resend"})
    assert response.status_code == 200
    assert b"We sent a new code" in response.content
    assert len(mail.outbox) == 2
    assert enter_code(on_subdomain, code_in(mail.outbox[1])).status_code == 302
    assert on_subdomain.user() == customer


def test_without_resending_the_code_page_points_back_to_asking_again(on_subdomain, customer):
    ask_for_code(on_subdomain, customer.email)
    response = on_subdomain.get("signin/code/")
    assert b"send a new code" not in response.content
    assert b"Ask for a new code, or use another address" in response.content


def test_bad_addresses_are_refused_with_a_message(on_subdomain):
    response = on_subdomain.post("signin/", {"email": "not an address"})
    assert response.status_code == 400
    assert b"Enter a valid email address." in response.content
    assert not mail.outbox


def test_blocked_email_domains_are_refused_at_sign_in(on_subdomain, org, owner):
    forum.update_forum_settings(org, actor=Member.of(owner, org), blocked_domains=["spam.test"])
    accounts = User.objects.count()
    response = ask_for_code(on_subdomain, "bot@SPAM.test")
    assert response.status_code == 400
    assert (
        b"Addresses at spam.test cannot be used to comment on the Acme Cloud status page"
        in response.content
    )
    assert User.objects.count() == accounts
    assert not mail.outbox


def test_a_disabled_account_cannot_sign_in(on_subdomain):
    UserFactory(email="gone@customer.test", is_active=False)
    response = ask_for_code(on_subdomain, "gone@customer.test")
    assert response.status_code == 400
    assert b"disabled" in response.content
    assert not mail.outbox


def test_a_password_set_before_the_address_was_proved_stops_working(on_subdomain):
    # Someone signed up with this address (and a password) without ever confirming it.
    squatter = UserFactory(email="victim@customer.test", verified=False)
    ask_for_code(on_subdomain, "victim@customer.test")
    enter_code(on_subdomain, code_in(mail.outbox[0]))
    squatter.refresh_from_db()
    assert not squatter.has_usable_password()
    assert EmailAddress.objects.get(user=squatter).verified


# --- where a sign-in ends -------------------------------------------------------------------


@pytest.mark.parametrize(
    "next_path",
    [
        "https://evil.test/",
        "//evil.test/phish",
        "/\\evil.test/",
        "javascript:alert(1)",
        "{prefix}../../dashboard/",
        "/dashboard/acme/",
    ],
)
def test_next_must_be_a_path_on_this_page(on_page, customer, next_path):
    page = on_page
    next_path = next_path.format(prefix=page.prefix)
    if next_path == "/dashboard/acme/" and page.prefix == "/":
        next_path = "https://testserver/dashboard/acme/"  # another host than the page's
    ask_for_code(page, customer.email, next_path)
    response = enter_code(page, code_in(mail.outbox[0]), next_path)
    assert response.status_code == 302
    assert response.url == page.path()


def test_without_next_a_sign_in_ends_on_the_page_not_the_dashboard(on_page, customer):
    page = on_page
    page.post("signin/", {"email": customer.email})
    response = page.post("signin/code/", {"code": code_in(mail.outbox[0])})
    assert response.url == page.path()


# --- password and two-factor ----------------------------------------------------------------


def test_sign_in_with_a_password(on_page, customer):
    page = on_page
    assert page.get("signin/password/").status_code == 200
    response = page.post(
        "signin/password/",
        {"login": customer.email, "password": PASSWORD, "next": page.path(INCIDENT_PATH)},
    )
    assert response.status_code == 302
    assert response.url == page.path(INCIDENT_PATH)
    assert page.user() == customer


def test_a_wrong_password_is_a_form_error(on_subdomain, customer):
    response = on_subdomain.post(
        "signin/password/", {"login": customer.email, "password": "not-it"}
    )
    assert response.status_code == 400
    assert b'class="errorlist nonfield"' in response.content
    assert not on_subdomain.user().is_authenticated


def test_wrong_passwords_are_rate_limited(on_subdomain, customer):
    # ACCOUNT_RATE_LIMITS["login_failed"]: 5 failures per address and client in 5 minutes.
    for _ in range(5):
        on_subdomain.post("signin/password/", {"login": customer.email, "password": "not-it"})
    response = on_subdomain.post(
        "signin/password/", {"login": customer.email, "password": PASSWORD}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Too many failed attempts from this device; try again in 5 minutes" in body
    # The way in offered is the page's own code sign-in, not the application's.
    assert '<a href="/signin/">sign in with a code sent to your email</a>' in body
    assert not on_subdomain.user().is_authenticated


def test_wrong_passwords_from_a_stranger_do_not_lock_the_owner_out_on_the_page(org, customer):
    host, prefix = ADDRESSES["subdomain"]
    stranger = Page(Client(REMOTE_ADDR="203.0.113.7"), host, prefix)
    owner = Page(Client(REMOTE_ADDR="198.51.100.20"), host, prefix)
    for _ in range(6):
        stranger.post("signin/password/", {"login": customer.email, "password": "not-it"})
    response = owner.post("signin/password/", {"login": customer.email, "password": PASSWORD})
    assert response.status_code == 302
    assert owner.user() == customer
    # The stranger is limited, and the owner locked on a device still gets in by code.
    response = stranger.post("signin/password/", {"login": customer.email, "password": PASSWORD})
    assert response.status_code == 400
    assert ask_for_code(stranger, customer.email).status_code == 302
    assert enter_code(stranger, code_in(mail.outbox[-1])).status_code == 302
    assert stranger.user() == customer


def test_an_unconfirmed_address_is_sent_to_the_code(on_subdomain):
    user = UserFactory(email="new@customer.test", verified=False)
    response = on_subdomain.post("signin/password/", {"login": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"Sign in with an emailed code instead" in response.content
    assert not on_subdomain.user().is_authenticated


@pytest.fixture
def two_factor_user(db):
    user = UserFactory(email="secure@customer.test", display_name="Sam")
    secret = "JBSWY3DPEHPK3PXP"
    TOTP.activate(user, secret)
    assert Authenticator.objects.filter(user=user).exists()
    return user, secret


def totp_now(secret: str) -> str:
    import time

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def test_two_factor_applies_to_code_sign_in_on_the_page(on_page, two_factor_user):
    page = on_page
    user, secret = two_factor_user
    ask_for_code(page, user.email)
    response = enter_code(page, code_in(mail.outbox[0]))
    assert response.status_code == 302
    assert response.url == page.path("signin/two-factor/")
    assert not page.user().is_authenticated

    response = page.post("signin/two-factor/", {"code": "000000"})
    assert response.status_code == 400
    assert not page.user().is_authenticated

    response = page.post("signin/two-factor/", {"code": totp_now(secret)})
    assert response.status_code == 302
    assert response.url == page.path(INCIDENT_PATH)
    assert page.user() == user


def test_two_factor_applies_to_password_sign_in_on_the_page(on_subdomain, two_factor_user):
    user, secret = two_factor_user
    response = on_subdomain.post("signin/password/", {"login": user.email, "password": PASSWORD})
    assert response.url == "/signin/two-factor/"
    assert not on_subdomain.user().is_authenticated
    on_subdomain.post("signin/two-factor/", {"code": totp_now(secret)})
    assert on_subdomain.user() == user


def test_the_two_factor_page_without_a_sign_in_in_progress_starts_over(on_subdomain):
    response = on_subdomain.get("signin/two-factor/")
    assert response.status_code == 400
    assert b"Start again" in response.content


# --- signed in, signing out, display names ---------------------------------------------------


def test_sign_out_is_a_post_on_the_page_host(on_subdomain, customer):
    on_subdomain.client.force_login(customer)
    assert on_subdomain.get("signout/").status_code == 405
    assert on_subdomain.user() == customer
    response = on_subdomain.post("signout/", {"next": "/" + INCIDENT_PATH})
    assert response.status_code == 302
    assert response.url == "/" + INCIDENT_PATH
    assert not on_subdomain.user().is_authenticated


def test_a_signed_in_reader_sees_who_they_are(on_subdomain, customer):
    on_subdomain.client.force_login(customer)
    response = on_subdomain.get("signin/")
    assert b"Signed in as <strong>casey@customer.test</strong>." in response.content
    assert b"Sign out" in response.content


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Acme Cloud fan", "Display names may not contain the organization"),
        ("SupportBot", "Display names may not contain the word “support”."),
        ("   ", "This field is required."),
    ],
)
def test_display_names_that_impersonate_are_refused(on_subdomain, customer, name, message):
    on_subdomain.client.force_login(customer)
    response = on_subdomain.post("signin/name/", {"display_name": name})
    assert response.status_code == 400
    assert message in response.content.decode()
    customer.refresh_from_db()
    assert customer.display_name == "Casey Jones"


def test_a_customer_whose_name_this_organization_refuses_is_asked_for_another(on_subdomain):
    user = UserFactory(email="imp@customer.test", display_name="Acme Cloud Official")
    ask_for_code(on_subdomain, user.email)
    response = enter_code(on_subdomain, code_in(mail.outbox[0]))
    assert response.url.startswith("/signin/name/")


def test_staff_are_not_asked_for_a_customer_name(on_subdomain, owner):
    owner.display_name = "Acme Cloud Support"
    owner.save()
    ask_for_code(on_subdomain, owner.email)
    response = enter_code(on_subdomain, code_in(mail.outbox[0]))
    assert response.url == "/" + INCIDENT_PATH


def test_the_name_step_needs_a_signed_in_reader(on_subdomain):
    response = on_subdomain.get("signin/name/")
    assert response.status_code == 302
    assert response.url.startswith("/signin/?next=")


def test_a_stranger_asking_for_codes_on_the_page_does_not_stop_the_owner(org, customer):
    # The page's sign-in uses the application's rule: per address and client, with a ceiling
    # per address across clients (apps.accounts.adapter.consume_login_code_request).
    host, prefix = ADDRESSES["subdomain"]
    stranger = Page(Client(REMOTE_ADDR="203.0.113.7"), host, prefix)
    owner = Page(Client(REMOTE_ADDR="198.51.100.20"), host, prefix)
    for _ in range(3):
        assert ask_for_code(stranger, customer.email).status_code == 302
    assert ask_for_code(stranger, customer.email).status_code == 429
    assert ask_for_code(owner, customer.email).status_code == 302
    assert enter_code(owner, code_in(mail.outbox[-1])).status_code == 302
    assert owner.user() == customer


def test_resending_a_code_on_the_page_counts_against_the_same_limit(org, customer, settings):
    settings.ACCOUNT_LOGIN_BY_CODE_SUPPORTS_RESEND = True
    host, prefix = ADDRESSES["subdomain"]
    reader = Page(Client(REMOTE_ADDR="203.0.113.7"), host, prefix)
    for _ in range(3):
        assert ask_for_code(reader, customer.email).status_code == 302
    response = reader.post("signin/code/", {"action": "resend"})
    assert response.status_code == 429
