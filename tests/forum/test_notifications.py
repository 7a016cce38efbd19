"""Forum reply mail: who hears of a comment, batching per person per thread, exactly once,
nothing for content awaiting moderation, and the muting links (issue 11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.utils import timezone

from apps.forum import notifications
from apps.forum import services as forum
from apps.forum.models import MailOptOut, ReplyNotice, ThreadFollow
from apps.incidents import services as incidents
from apps.notifications import pipeline
from apps.notifications.models import Delivery, NotificationEvent, Subscriber
from apps.organizations.principals import Customer, Member
from tests.factories import UserFactory

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Clock:
    """django.utils.timezone.now, moved by the test."""

    def __init__(self, monkeypatch) -> None:
        self.now = START
        monkeypatch.setattr(timezone, "now", lambda: self.now)

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    return Clock(monkeypatch)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run a service call and everything it queued on commit (tasks run in-process)."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


@pytest.fixture
def dana(db):
    return UserFactory(email="dana@customer.test", display_name="Dana Scully")


def replies_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def send_due(run) -> int:
    return run(lambda: notifications.send_due_reply_mails())


def test_a_reply_mails_the_person_replied_to_once_with_links(
    run, incident, customer, dana, org, clock
):
    question = run(
        lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Is EU down?")
    )
    run(
        lambda: forum.post_comment(
            incident, actor=Customer(dana, org), body="Same *here*.", reply_to=question
        )
    )

    [message] = replies_to("casey@customer.test")
    assert message.subject == "[Acme Cloud] New reply in API errors in eu-west"
    assert "Dana Scully, replying to you" in message.body
    assert "Same *here*." in message.body
    url = f"http://localhost:8000/s/acme/incidents/{incident.public_id}/"
    reply = incident.forum_thread.comments.get(author=dana)
    assert f"Open this comment: {url}#comment-{reply.public_id}" in message.body
    assert f"Discuss this incident: {url}#discussion" in message.body
    unsubscribe = message.extra_headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://localhost:8000/s/acme/discussions/mute/")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "http://localhost:8000/s/acme/discussions/mute-all/" in message.body
    assert replies_to("dana@customer.test") == []  # never the writer


def test_it_is_sent_exactly_once_however_often_the_tasks_run(
    run, incident, customer, dana, org, clock
):
    question = run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q"))
    run(
        lambda: forum.post_comment(incident, actor=Customer(dana, org), body="A", reply_to=question)
    )
    [event] = NotificationEvent.objects.filter(kind=notifications.EventKind.REPLIES)

    clock.advance(minutes=30)
    send_due(run)
    NotificationEvent.objects.filter(pk=event.pk).update(processed_at=None)
    run(lambda: pipeline.fan_out(event.pk))
    run(lambda: pipeline.retry_due_deliveries())

    assert len(replies_to("casey@customer.test")) == 1
    [delivery] = Delivery.objects.filter(event=event)
    assert delivery.status == Delivery.Status.SENT
    assert NotificationEvent.objects.filter(kind=notifications.EventKind.REPLIES).count() == 1


def test_replies_inside_the_window_are_gathered_into_the_next_mail(
    run, incident, customer, dana, org, clock
):
    question = run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q"))
    others = [dana, UserFactory(display_name="Fox"), UserFactory(display_name="Skinner")]
    for number, person in enumerate(others):
        clock.advance(minutes=2)
        run(
            lambda person=person, number=number: forum.post_comment(
                incident, actor=Customer(person, org), body=f"Reply {number}", reply_to=question
            )
        )
    assert len(replies_to("casey@customer.test")) == 1  # the first, at once

    clock.advance(minutes=5)  # 9 minutes after the first mail (at 2 minutes)
    assert send_due(run) == 0
    clock.advance(minutes=1)  # the window opens
    assert send_due(run) == 1
    assert send_due(run) == 0

    first, second = replies_to("casey@customer.test")
    assert "Reply 0" in first.body and "Reply 1" not in first.body
    assert second.subject == "[Acme Cloud] 2 new replies in API errors in eu-west"
    assert "Reply 1" in second.body and "Reply 2" in second.body
    assert second.extra_headers["In-Reply-To"] == first.extra_headers["In-Reply-To"]


def test_a_staff_answer_reaches_followers_and_a_customer_comment_does_not(
    run, incident, customer, dana, org, editor, clock
):
    run(lambda: forum.mark_affected(incident, actor=Customer(dana, org)))
    run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Me too"))
    assert mail.outbox == []  # customers' comments mail only the person replied to

    run(lambda: forum.post_comment(incident, actor=Member.of(editor, org), body="Fixed in EU."))

    assert {message.to[0] for message in mail.outbox} == {
        "casey@customer.test",
        "dana@customer.test",
    }
    assert "(Staff · Acme Cloud)" in mail.outbox[0].body
    assert ThreadFollow.objects.get(user=dana).reason == ThreadFollow.Reason.AFFECTED


def test_nothing_is_sent_for_a_comment_awaiting_moderation_until_it_is_approved(
    run, incident, customer, dana, org, editor, owner, clock
):
    forum.update_forum_settings(org, actor=Member.of(owner, org), premoderation="all")
    question = run(lambda: forum.post_comment(incident, actor=Member.of(editor, org), body="Q"))
    pending = run(
        lambda: forum.post_comment(
            incident, actor=Customer(dana, org), body="Secret pending text", reply_to=question
        )
    )
    assert pending.status == "pending"
    assert send_due(run) == 0
    assert ReplyNotice.objects.count() == 0
    assert not NotificationEvent.objects.filter(
        kind="comment.created", subject_id=pending.public_id
    )

    run(lambda: forum.unhide_comment(pending, actor=Member.of(editor, org)))

    [message] = replies_to(editor.email)
    assert "Secret pending text" in message.body


def test_a_comment_hidden_before_its_mail_goes_is_left_out(
    run, incident, customer, dana, org, editor, clock
):
    question = run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q"))
    run(
        lambda: forum.post_comment(
            incident, actor=Customer(dana, org), body="A1", reply_to=question
        )
    )
    clock.advance(minutes=1)
    fox = UserFactory(display_name="Fox")
    spam = run(
        lambda: forum.post_comment(
            incident, actor=Customer(fox, org), body="Buy cheap pills", reply_to=question
        )
    )
    run(lambda: forum.hide_comment(spam, actor=Member.of(editor, org), reason="Spam"))

    clock.advance(minutes=10)
    assert send_due(run) == 0  # its only comment was hidden: no mail at all

    assert len(replies_to("casey@customer.test")) == 1
    assert all("pills" not in message.body for message in mail.outbox)
    assert ReplyNotice.objects.get(comment=spam).state == ReplyNotice.State.DROPPED


def test_muted_opted_out_and_banned_people_get_nothing(
    run, incident, customer, dana, org, editor, clock
):
    fox, walter = UserFactory(email="fox@customer.test"), UserFactory(email="walter@customer.test")
    for person in (customer, dana, fox, walter):
        run(lambda person=person: forum.mark_affected(incident, actor=Customer(person, org)))
    notifications.mute_thread(ThreadFollow.objects.get(user=customer))
    notifications.mute_all(org, dana)
    run(lambda: forum.ban_user(org, fox, actor=Member.of(editor, org), reason="Spam"))

    run(lambda: forum.post_comment(incident, actor=Member.of(editor, org), body="An answer"))

    assert [message.to for message in mail.outbox] == [["walter@customer.test"]]


def test_person_rows_never_join_the_status_pages_fan_out(
    run, incident, customer, dana, org, owner, clock
):
    question = run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q"))
    run(
        lambda: forum.post_comment(incident, actor=Customer(dana, org), body="A", reply_to=question)
    )
    assert Subscriber.people.for_org(org).get().email == "casey@customer.test"
    mail.outbox.clear()

    run(
        lambda: incidents.post_update(
            incident, actor=Member.of(owner, org), status="identified", body="Found it."
        )
    )

    assert mail.outbox == []
    assert not Subscriber.objects.for_org(org).exists()


# --- the links in the mail ------------------------------------------------------------------


def mute_path(follow: ThreadFollow) -> str:
    return f"/s/acme/discussions/mute/{notifications.mute_token(follow.thread, follow.user_id)}/"


@pytest.fixture
def follow(run, incident, customer, org):
    run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q"))
    return ThreadFollow.objects.get(user=customer)


def test_one_click_post_mutes_the_discussion_without_cookies(follow, client):
    client.handler.enforce_csrf_checks = True

    response = client.post(mute_path(follow), {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    assert "Discussion muted" in response.content.decode()
    follow.refresh_from_db()
    assert follow.muted


def test_the_link_opened_in_a_browser_asks_first(follow, client):
    response = client.get(mute_path(follow))

    assert response.status_code == 200
    assert "Mute this discussion?" in response.content.decode()
    follow.refresh_from_db()
    assert not follow.muted


def test_muting_can_be_undone_from_the_same_page(follow, client):
    client.post(mute_path(follow))
    client.post(mute_path(follow), {"action": "unmute"})

    follow.refresh_from_db()
    assert not follow.muted


def test_a_token_of_another_organization_or_a_forged_one_is_refused(follow, client, other_org, run):
    token = notifications.mute_token(follow.thread, follow.user_id)
    all_token = notifications.mute_all_token(follow.organization_id, follow.user_id)

    other_page = client.post(f"/s/{other_org.slug}/discussions/mute/{token}/")
    other_all = client.post(f"/s/{other_org.slug}/discussions/mute-all/{all_token}/")
    forged = client.post(f"/s/acme/discussions/mute/{token[:-2]}xx/")

    assert (other_page.status_code, other_all.status_code, forged.status_code) == (404, 404, 404)
    assert "This link is not valid" in forged.content.decode()
    follow.refresh_from_db()
    assert not follow.muted
    assert not MailOptOut.objects.exists()


def test_mute_all_asks_on_get_and_mutes_on_post(follow, client, org, customer):
    path = f"/s/acme/discussions/mute-all/{notifications.mute_all_token(org.pk, customer.pk)}/"

    asked = client.get(path)
    assert "Mute all discussions of <bdi>Acme Cloud</bdi>?" in asked.content.decode()
    assert not notifications.is_muted_all(org, customer)

    done = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert "All discussions muted" in done.content.decode()
    assert notifications.is_muted_all(org, customer)


def test_over_smtp_the_reply_mail_carries_the_forum_links(
    run, incident, customer, dana, org, settings, clock
):
    from tests.notifications.smtp_sink import SMTPSink

    question = run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q"))
    with SMTPSink() as sink:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        run(
            lambda: forum.post_comment(
                incident, actor=Customer(dana, org), body="Same here", reply_to=question
            )
        )
    [received] = sink.state.messages
    message = received.message()

    follow = ThreadFollow.objects.get(user=customer)
    assert received.recipients == ["casey@customer.test"]
    # (a long header may be folded onto a second line: same value)
    assert message["List-Unsubscribe"].strip() == f"<http://localhost:8000{mute_path(follow)}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"].startswith('"Acme Cloud discussions"')


def test_the_unsubscribe_header_of_a_real_mail_mutes_with_one_post(
    run, incident, customer, dana, org, client, clock
):
    question = run(lambda: forum.post_comment(incident, actor=Customer(customer, org), body="Q"))
    run(
        lambda: forum.post_comment(incident, actor=Customer(dana, org), body="A", reply_to=question)
    )
    [message] = mail.outbox
    url = message.extra_headers["List-Unsubscribe"].strip("<>")
    client.handler.enforce_csrf_checks = True

    response = client.post(
        url.removeprefix("http://localhost:8000"),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert ThreadFollow.objects.get(user=customer).muted
    clock.advance(minutes=20)
    run(
        lambda: forum.post_comment(
            incident, actor=Customer(UserFactory(), org), body="B", reply_to=question
        )
    )
    assert len(mail.outbox) == 1  # muted: nothing more


def test_the_link_works_on_the_pages_own_host_in_its_frame(follow, client, org):
    path = mute_path(follow).removeprefix("/s/acme")

    response = client.get(path, HTTP_HOST="acme.status.localhost")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Mute this discussion?" in page
    assert "--accent:" in page  # the status page's frame, with the organization's colours
    assert client.post(path, HTTP_HOST="acme.status.localhost").status_code == 200
    follow.refresh_from_db()
    assert follow.muted
