"""The forum speaks the reader's language (issue #15): a follower's reply mail is written in
the language they last acted in on the page, whatever language the person replying used, and a
stored code without a catalog reads as English. The page's forum parts render in another
language. (The words themselves are checked once the catalogs exist; here, which language is
active while each part renders.)"""

from __future__ import annotations

import time

import pytest
from django.core import mail
from django.utils import translation

from apps.forum import notifications
from apps.forum import services as forum
from apps.forum.models import ThreadFollow
from apps.forum.rules import sign_form_timestamp
from apps.notifications.models import Subscriber
from apps.organizations.principals import Customer, Member
from tests.factories import UserFactory


def url(incident, rest=""):
    return f"/s/acme/incidents/{incident.public_id}/{rest}"


def form(body="The API returns 503 for us too."):
    # A form rendered ten seconds ago (faster than FORM_MIN_SECONDS is refused).
    return {"body": body, "ts": sign_form_timestamp(time.time() - 10), "website": ""}


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run an action and everything it queued on commit (tasks run in-process)."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def dana(db):
    return UserFactory(email="dana@customer.test", display_name="Dana Scully")


@pytest.fixture
def subject_languages(monkeypatch) -> list[str]:
    """The language active each time a reply mail's subject is worded."""
    seen: list[str] = []
    real = notifications.ngettext

    def recording(*args):
        seen.append(translation.get_language())
        return real(*args)

    monkeypatch.setattr(notifications, "ngettext", recording)
    return seen


def reply_mail_to(address: str):
    [message] = [m for m in mail.outbox if m.to == [address]]
    [(html, _mimetype)] = message.alternatives
    return message, html


def test_commenting_on_the_page_in_german_keeps_german_for_the_follow(
    client, run, incident, customer
):
    client.force_login(customer)
    response = run(
        lambda: client.post(url(incident, "comments/"), form(), HTTP_ACCEPT_LANGUAGE="de")
    )
    assert response.status_code == 303
    assert ThreadFollow.objects.get(user=customer).language == "de"


def test_acting_again_in_another_language_sets_it_again(run, incident, customer, org):
    with translation.override("de"):
        run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q"))
    with translation.override("es"):
        run(lambda: forum.mark_affected(incident, actor=Customer(customer, org)))
    assert ThreadFollow.objects.get(user=customer).language == "es"


def test_a_german_follower_gets_replies_in_german_whoever_replies(
    run, incident, customer, dana, org, editor, subject_languages
):
    with translation.override("de"):
        question = run(
            lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q")
        )
    # Dana replies from a French page: her language is hers, the mail is Casey's.
    with translation.override("fr"):
        run(
            lambda: forum.post_comment(
                incident, actor=Customer(dana, org), body="Same here.", reply_to=question
            )
        )
    message, html = reply_mail_to(customer.email)
    assert '<html lang="de">' in html
    assert subject_languages == ["de"]
    assert "Same here." in message.body
    follows = {f.user_id: f.language for f in ThreadFollow.objects.all()}
    assert follows == {customer.pk: "de", dana.pk: "fr"}
    # The person's mail row, which the mail channel renders in, follows too.
    assert Subscriber.people.for_org(org).get(user=customer).language == "de"
    # A staff answer from the (English) dashboard leaves each follower's language alone.
    run(lambda: forum.post_comment(incident, actor=Member.of(editor, org), body="Fixed."))
    assert ThreadFollow.objects.get(user=customer).language == "de"


def test_a_stored_language_without_a_catalog_reads_as_english(
    run, incident, customer, dana, org, subject_languages
):
    question = run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q"))
    ThreadFollow.objects.filter(user=customer).update(language="tlh")
    with translation.override("ja"):
        run(
            lambda: forum.post_comment(
                incident, actor=Customer(dana, org), body="Same here.", reply_to=question
            )
        )
    message, html = reply_mail_to(customer.email)
    assert '<html lang="en">' in html
    assert subject_languages == ["en"]
    assert message.subject == "[Acme Cloud] New reply in API errors in eu-west"


def hint(page: str) -> str:
    return page.split('id="comment-hint">')[1].split("</p>")[0]


def test_the_discussion_speaks_the_page_language_to_a_signed_in_reader(client, incident, customer):
    client.force_login(customer)
    german = client.get(url(incident), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    # The length limit is written as German readers write numbers (whatever the catalog says
    # around it).
    assert "10.000" in hint(german) and "10,000" not in hint(german)
    english = client.get(url(incident), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert hint(english).endswith("Up to 10,000 characters.")
    # What a reader types takes its direction from the text (right-to-left scripts too).
    assert '<textarea id="comment-body" name="body" dir="auto"' in english
