"""Dashboard CSV import of email subscribers: a report for every row, all or nothing, and
confirmation mails through the subscribe service (never confirmed by the import)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError

from apps.notifications import csv_import, services
from apps.notifications.models import Subscriber
from apps.organizations.models import AuditEntry
from tests.factories import ComponentFactory, ComponentGroupFactory, member

from .factories import EmailSubscriberFactory


def csv_file(text: str | bytes, name: str = "subscribers.csv") -> SimpleUploadedFile:
    raw = text.encode() if isinstance(text, str) else text
    return SimpleUploadedFile(name, raw, content_type="text/csv")


@pytest.fixture
def upload(client, editor, org, django_capture_on_commit_callbacks):
    """POST a CSV to the import page as an editor; commit callbacks (mail) run."""
    client.force_login(editor)

    def upload(text: str | bytes, action: str = "import"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                f"/dashboard/{org.slug}/subscribers/import/",
                {"file": csv_file(text), "action": action},
            )

    return upload


def emails(org) -> list[str]:
    return sorted(Subscriber.objects.for_org(org).values_list("email", flat=True))


def test_it_works_one_address_per_row(upload, org):
    response = upload("ada@example.com\nGrace@Example.com\n\n")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Confirmation requests sent" in page
    assert emails(org) == ["ada@example.com", "grace@example.com"]
    assert all(s.confirmed_at is None for s in Subscriber.objects.for_org(org))
    assert sorted(message.to[0] for message in mail.outbox) == [
        "ada@example.com",
        "grace@example.com",
    ]
    assert "confirm" in mail.outbox[0].body.lower()
    assert AuditEntry.objects.get(action="subscribers.import").data == {"invited": 2}


def test_an_email_column_and_component_names(upload, org):
    api = ComponentFactory(organization=org, name="API")
    eu = ComponentGroupFactory(organization=org, name="Europe")
    frankfurt = ComponentFactory(organization=org, name="Frankfurt", group=eu)

    upload(
        "Name;Email;Components\n"
        "Ada;ada@example.com;api\n"
        'Grace;grace@example.com;"API; Europe - Frankfurt"\n'
        "Linus;linus@example.com;\n"
    )

    subscribers = {s.email: s for s in Subscriber.objects.for_org(org)}
    assert list(subscribers["ada@example.com"].components.all()) == [api]
    assert set(subscribers["grace@example.com"].components.all()) == {api, frankfurt}
    assert list(subscribers["linus@example.com"].components.all()) == []


def test_invalid_rows_are_reported_and_nothing_is_written(upload, org):
    ComponentFactory(organization=org, name="API")

    response = upload(
        "email,components\n"
        "ada@example.com,API\n"
        "not-an-address,\n"
        "grace@mailinator.com,\n"
        "linus@example.com,Billing\n"
    )

    page = response.content.decode()
    assert response.status_code == 400
    assert "Nothing was imported" in page
    assert "Not an email address." in page
    assert "A disposable address." in page
    assert "Unknown component “Billing”." in page
    # Spreadsheet row numbers, header included.
    assert '<td data-label="Row">3</td>' in page
    assert Subscriber.objects.count() == 0
    assert mail.outbox == []
    assert not AuditEntry.objects.filter(action="subscribers.import").exists()


def test_duplicates_and_existing_subscribers_are_skipped_and_listed(upload, org):
    EmailSubscriberFactory(organization=org, email="active@example.com")
    EmailSubscriberFactory(organization=org, email="pending@example.com", confirmed_at=None)
    EmailSubscriberFactory(
        organization=org,
        email="gone@example.com",
        state=Subscriber.State.DISABLED,
        disabled_reason="Unsubscribed.",
    )

    response = upload(
        "email\nnew@example.com\nNEW@example.com\nactive@example.com\n"
        "pending@example.com\ngone@example.com\n"
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Same address as row 2." in page
    assert "Pending confirmation" in page
    assert "Disabled: Unsubscribed." in page
    assert [message.to for message in mail.outbox] == [["new@example.com"]]
    gone = Subscriber.objects.get(email="gone@example.com")
    assert gone.state == Subscriber.State.DISABLED  # an import never re-subscribes anyone


def test_check_only_sends_and_stores_nothing(upload, org):
    response = upload("ada@example.com\n", action="check")

    assert "The file looks good" in response.content.decode()
    assert Subscriber.objects.count() == 0
    assert mail.outbox == []


def test_a_file_over_1_mb_is_refused(upload, org):
    big = "email\n" + "a@example.com\n" * (1024 * 1024 // 14 + 10)

    response = upload(big)

    assert response.status_code == 400
    assert "larger than 1 MB" in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_more_addresses_than_one_import_takes_are_refused(upload, org, monkeypatch):
    monkeypatch.setattr(csv_import, "MAX_ADDRESSES", 3)

    response = upload("a@example.com\nb@example.com\nc@example.com\nd@example.com\n")

    assert response.status_code == 400
    assert "at most 3 addresses" in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_the_daily_quota_stops_a_large_import(upload, org, monkeypatch):
    monkeypatch.setattr(csv_import, "DAILY_INVITATION_QUOTA", 3)
    upload("a@example.com\nb@example.com\n")

    response = upload("c@example.com\nd@example.com\n")

    assert response.status_code == 429
    assert "Daily import limit reached" in response.content.decode()
    assert emails(org) == ["a@example.com", "b@example.com"]
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"\xff\xfe\x00a\x00", "not UTF-8"),
        ("", "file is empty"),
        ("name,city\nAda,London\n", "No column named “email”"),
        ("\n\n", "The file is empty."),
    ],
)
def test_unreadable_files_are_a_form_error(upload, org, content, problem):
    response = upload(content)

    assert response.status_code == 400
    assert problem in response.content.decode()
    assert Subscriber.objects.count() == 0


def test_an_export_can_be_imported_back(upload, org):
    response = upload(
        "id,channel,address,components,state,created,confirmed\n"
        "abc,email,ada@example.com,,active,2026-01-01T00:00:00+00:00,\n"
    )

    assert response.status_code == 200
    assert emails(org) == ["ada@example.com"]


def test_a_viewer_cannot_import(client, viewer, org):
    client.force_login(viewer)

    response = client.post(
        f"/dashboard/{org.slug}/subscribers/import/",
        {"file": csv_file("ada@example.com\n"), "action": "import"},
    )

    assert response.status_code == 403
    assert Subscriber.objects.count() == 0


def test_the_import_service_leaves_existing_subscribers_and_foreign_components_alone(
    org, other_org, owner, django_capture_on_commit_callbacks
):
    left = EmailSubscriberFactory(
        organization=org,
        email="left@example.com",
        state=Subscriber.State.DISABLED,
        disabled_reason="Unsubscribed.",
    )
    theirs = ComponentFactory(organization=other_org)

    with django_capture_on_commit_callbacks(execute=True):
        invited = services.import_email_subscribers(
            org,
            actor=member(owner),
            rows=[("left@example.com", []), ("new@example.com", [theirs.public_id])],
        )

    assert [subscriber.email for subscriber in invited] == ["new@example.com"]
    assert list(invited[0].components.all()) == []
    left.refresh_from_db()
    assert left.state == Subscriber.State.DISABLED
    assert [message.to for message in mail.outbox] == [["new@example.com"]]


def test_an_address_subscribed_meanwhile_rolls_the_import_back(upload, org, monkeypatch):
    def collide(*args, **kwargs):
        raise IntegrityError("one_email_subscriber_per_address")

    monkeypatch.setattr(services, "import_email_subscribers", collide)

    response = upload("ada@example.com\n")

    assert response.status_code == 409
    assert "Nothing was imported" in response.content.decode()
    assert mail.outbox == []


def test_imported_addresses_get_mail_in_the_organizations_default_language(upload, org):
    org.default_language = "de"
    org.save(update_fields=["default_language"])

    upload("ada@example.com\n")
    html, _mimetype = mail.outbox[0].alternatives[0]

    assert Subscriber.objects.get(email="ada@example.com").language == "de"
    assert '<html lang="de">' in html
