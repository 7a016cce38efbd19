"""Erasing a person's data (apps/privacy/services.py): an owner erases a customer of their
organization, or a person deletes their own account."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from apps.forum.models import AffectedMark, Ban, Comment, Flag, ThreadFollow
from apps.forum.notifications import follow
from apps.notifications.models import Delivery, Subscriber
from apps.organizations.models import AuditEntry, Membership
from apps.organizations.principals import Customer, Member
from apps.privacy import services
from apps.privacy.services import ERASED_NAME, address_digest
from tests.factories import PASSWORD, MembershipFactory, UserFactory
from tests.forum.factories import CommentFactory
from tests.notifications.factories import (
    DeliveryFactory,
    EmailSubscriberFactory,
    NotificationEventFactory,
)

from .conftest import fill

pytestmark = pytest.mark.django_db

User = get_user_model()


@pytest.fixture
def customer(filled):
    return filled["customer"]


@pytest.fixture
def subscription(org, customer):
    """The customer's own subscription to the page, with a mail still to send."""
    subscriber = EmailSubscriberFactory(organization=org, email=customer.email)
    DeliveryFactory(
        event=NotificationEventFactory(organization=org),
        subscriber=subscriber,
        status=Delivery.Status.PENDING,
    )
    return subscriber


def erase(org, owner, email):
    return services.erase_customer(org, actor=Member.of(owner, org), email=email)


# --- an owner erases a customer -------------------------------------------------------------


def test_the_customers_subscriptions_and_pending_mail_are_removed(
    org, owner, customer, subscription, filled
):
    counts = erase(org, owner, customer.email.upper())
    assert counts.subscriptions == 1
    assert not Subscriber.objects.filter(pk=subscription.pk).exists()
    assert not Delivery.objects.filter(subscriber_id=subscription.pk).exists()
    # Other people's subscriptions stay.
    assert Subscriber.objects.filter(pk=filled["email_subscriber"].pk).exists()


def test_comments_keep_their_body_and_lose_their_author(org, owner, customer, filled):
    other = CommentFactory(thread=filled["comment"].thread, author_name="Someone else")
    erase(org, owner, customer.email)
    comment = Comment.objects.get(pk=filled["comment"].pk)
    assert (comment.author, comment.author_name) == (None, ERASED_NAME)
    assert comment.body_source == "Acme comment body"
    other.refresh_from_db()
    assert (other.author_name, other.author_id is not None) == ("Someone else", True)


def test_marks_flags_and_follows_go_and_bans_stay(org, owner, customer, filled):
    comment = filled["comment"]
    follow(comment.thread, customer, "comment")
    other_comment = CommentFactory(thread=comment.thread)
    from apps.forum import services as forum

    forum.flag_comment(other_comment, actor=Customer(customer, org), reason="spam")
    forum.ban_user(org, customer, actor=Member.of(owner, org))
    erase(org, owner, customer.email)
    assert not AffectedMark.objects.filter(user=customer).exists()
    assert not Flag.objects.filter(user=customer).exists()
    assert not ThreadFollow.objects.filter(user=customer).exists()
    assert Ban.objects.filter(organization=org, user=customer).exists()
    # The flag someone else made on the customer's comment is not theirs: it stays.
    assert Flag.objects.filter(comment=comment).exists()


def test_audit_rows_stay_with_a_placeholder_and_the_erasure_is_audited_by_hash(
    org, owner, customer, filled
):
    # The customer banned: their address is in the ban's audit row.
    from apps.forum import services as forum

    forum.ban_user(org, customer, actor=Member.of(owner, org))
    assert AuditEntry.objects.filter(organization=org, data__icontains=customer.email).exists()
    before = AuditEntry.objects.filter(organization=org).count()
    erase(org, owner, customer.email)
    rows = AuditEntry.objects.filter(organization=org)
    assert rows.count() == before + 1  # nothing deleted; one row for the erasure
    ban_row = rows.get(action="forum.ban", target_id=str(Ban.objects.get(user=customer).pk))
    assert ban_row.data["after"]["user"] == f"erased user #{customer.pk}"
    assert ban_row.actor == owner
    texts = [f"{r.actor_label} {r.target_label} {r.data}" for r in rows]
    assert not [text for text in texts if customer.email in text]
    entry = rows.get(action="privacy.erase_customer")
    assert entry.actor == owner
    assert entry.data["address_sha256_hmac"] == address_digest(customer.email)


def test_erasure_is_idempotent(org, owner, customer, subscription):
    first = erase(org, owner, customer.email)
    again = erase(org, owner, customer.email)
    assert first.total() > 0
    assert again.total() == 0
    assert Comment.objects.filter(author_name=ERASED_NAME).count() == 1


def test_an_address_without_an_account_still_loses_its_subscription(org, owner):
    subscriber = EmailSubscriberFactory(organization=org, email="only-subscribed@example.com")
    counts = erase(org, owner, "only-subscribed@example.com")
    assert counts.subscriptions == 1
    assert not Subscriber.objects.filter(pk=subscriber.pk).exists()


def test_a_member_cannot_be_erased_this_way(org, owner, editor):
    with pytest.raises(ValidationError, match="member of this organization"):
        erase(org, owner, editor.email)
    assert Membership.objects.filter(organization=org, user=editor).exists()


@pytest.mark.parametrize("role", ["admin", "editor", "viewer"])
def test_only_owners_erase(org, role, customer):
    member = MembershipFactory(organization=org, role=role).user
    with pytest.raises(PermissionDenied):
        erase(org, member, customer.email)


def test_the_same_person_elsewhere_is_untouched(org, owner, other_org, outsider, customer):
    elsewhere = EmailSubscriberFactory(organization=other_org, email=customer.email)
    other_thread = fill(other_org, outsider, tag="Globex")["comment"].thread
    their_comment = CommentFactory(
        thread=other_thread, author=customer, author_name=customer.display_name
    )
    erase(org, owner, customer.email)
    assert Subscriber.objects.filter(pk=elsewhere.pk).exists()
    their_comment.refresh_from_db()
    assert (their_comment.author, their_comment.author_name) == (customer, customer.display_name)
    assert User.objects.filter(pk=customer.pk).exists()
    assert not AuditEntry.objects.filter(
        organization=other_org, actor_label__startswith="erased user"
    ).exists()


def test_the_erase_page_works_for_owners(client, org, owner, customer, subscription):
    client.force_login(owner)
    url = reverse("privacy:erase_customer", args=[org.slug])
    assert client.get(url).status_code == 200
    response = client.post(url, {"email": customer.email}, follow=True)
    assert b"1 subscription(s) deleted, 1 comment(s) anonymised" in response.content
    response = client.post(url, {"email": "not-an-address"})
    assert response.status_code == 400


def test_the_erase_page_is_for_owners_only(client, org, admin, outsider):
    url = reverse("privacy:erase_customer", args=[org.slug])
    client.force_login(admin)
    assert client.post(url, {"email": "x@example.com"}).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


# --- a person deletes their own account ------------------------------------------------------


def signed_in(user) -> Client:
    """A client signed in through allauth (so a recent authentication is recorded)."""
    client = Client()
    EmailAddress.objects.get_or_create(user=user, email=user.email, verified=True, primary=True)
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    # Deleting an account needs a fresh confirmation of the password (allauth's reauthenticate).
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302
    return client


DELETE = {"confirmation": "DELETE"}


def test_a_person_deletes_their_account_and_their_data(org, owner, other_org, customer, filled):
    from apps.forum import services as forum

    forum.ban_user(org, customer, actor=Member.of(owner, org))  # their address in the audit log
    here = EmailSubscriberFactory(organization=org, email=customer.email)
    there = EmailSubscriberFactory(organization=other_org, email=customer.email)
    client = signed_in(customer)
    other_device = signed_in(customer)
    TOTP.activate(customer, "JBSWY3DPEHPK3PXP")
    assert Authenticator.objects.filter(user=customer).exists()
    user_id = customer.pk
    response = client.post(reverse("account_privacy:delete_account"), DELETE)
    assert response.status_code == 302
    assert not User.objects.filter(pk=user_id).exists()
    assert not EmailAddress.objects.filter(user_id=user_id).exists()
    assert not Authenticator.objects.filter(user_id=user_id).exists()
    assert not Subscriber.objects.filter(pk__in=[here.pk, there.pk]).exists()
    comment = Comment.objects.get(pk=filled["comment"].pk)
    assert (comment.author_id, comment.author_name) == (None, ERASED_NAME)
    assert comment.body_source == "Acme comment body"
    texts = [f"{r.actor_label} {r.target_label} {r.data}" for r in AuditEntry.objects.all()]
    assert not [text for text in texts if customer.email in text]
    assert [text for text in texts if f"erased user #{user_id}" in text]
    # Signed out here and on every other device.
    for device in (client, other_device):
        profile = device.get(reverse("accounts:profile"))
        assert profile.status_code == 302
        assert "/accounts/login/" in profile["Location"]


def test_account_deletion_asks_to_sign_in_again_after_a_while(org, customer):
    client = Client()
    client.force_login(customer)  # no recent authentication recorded
    url = reverse("account_privacy:delete_account")
    assert client.get(url).status_code == 200
    response = client.post(url, DELETE)
    assert response.status_code == 302
    assert "reauthenticate" in response["Location"]
    assert User.objects.filter(pk=customer.pk).exists()


def test_account_deletion_needs_the_confirmation(customer):
    client = signed_in(customer)
    response = client.post(reverse("account_privacy:delete_account"), {"confirmation": "yes"})
    assert response.status_code == 400
    assert User.objects.filter(pk=customer.pk).exists()


def test_the_last_owner_of_an_organization_is_refused(org, owner):
    client = signed_in(owner)
    url = reverse("account_privacy:delete_account")
    assert b"You are the last owner of" in client.get(url).content
    response = client.post(url, DELETE)
    assert response.status_code == 400
    assert b"You are the last owner of" in response.content
    assert User.objects.filter(pk=owner.pk).exists()


def test_an_owner_with_a_co_owner_may_leave_and_the_organization_records_it(org, owner):
    from apps.forum import services as forum

    MembershipFactory(organization=org, role="owner")
    forum.ban_user(org, UserFactory(), actor=Member.of(owner, org))  # an act of hers, audited
    assert AuditEntry.objects.filter(organization=org, actor_label="alice@acme.test").exists()
    client = signed_in(owner)
    response = client.post(reverse("account_privacy:delete_account"), DELETE)
    assert response.status_code == 302
    entry = AuditEntry.objects.get(organization=org, action="privacy.delete_account")
    assert entry.data["address_sha256_hmac"] == address_digest("alice@acme.test")
    assert not AuditEntry.objects.filter(organization=org, actor_label="alice@acme.test").exists()


def test_deleting_an_account_leaves_other_people_alone(org, customer, filled):
    someone = UserFactory(email="someone@example.com")
    their_comment = CommentFactory(thread=filled["comment"].thread, author=someone)
    client = signed_in(customer)
    client.post(reverse("account_privacy:delete_account"), DELETE)
    their_comment.refresh_from_db()
    assert their_comment.author == someone
    assert Subscriber.objects.filter(pk=filled["email_subscriber"].pk).exists()


def test_the_profile_links_to_account_deletion(customer):
    client = signed_in(customer)
    content = client.get(reverse("accounts:profile")).content
    assert reverse("account_privacy:delete_account").encode() in content
