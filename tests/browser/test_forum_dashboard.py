"""Forum moderation in the dashboard, as an editor does it in a browser at desktop and phone
sizes: from the incident to its discussion, answer a customer's question as staff and mark the
answer, then clear the moderation queue. Screenshots: var/screenshots/forum-dash-*.png."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from apps.forum import services as forum
from apps.forum.models import Comment
from apps.organizations.principals import Customer
from tests.factories import ComponentFactory, IncidentFactory, UserFactory

from .conftest import OVERFLOWING, SCREENSHOTS, follow, submit, visit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shot(page, size):
    """Keeps var/screenshots/forum-dash-<step>-<size>.png and fails when the page scrolls
    sideways."""

    def take(step: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"forum-dash-{step}-{size}.png", full_page=True)
        content, window = page.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert content <= window, f"{page.url} scrolls sideways at {size} ({step}):\n" + "\n".join(
            page.evaluate(OVERFLOWING)
        )

    return take


@pytest.fixture
def discussion(org, owner):
    """An incident whose customers asked a question, flagged a spammer away and marked
    themselves affected."""
    api = ComponentFactory(organization=org, name="API")
    incident = IncidentFactory(organization=org, name="Elevated API errors in eu-west")
    incident.components.add(api)
    casey = UserFactory(email="casey@customer.test", display_name="Casey Jones")
    question = forum.post_comment(
        incident,
        actor=Customer(casey, org),
        body="Is **eu-west-2** affected as well, or only eu-west-1? Our uploads time out.",
    )
    spammer = UserFactory(email="deals@spam.test", display_name="Best Deals")
    spam = forum.post_comment(
        incident, actor=Customer(spammer, org), body="Cheap watches, visit my shop today!"
    )
    for n in range(3):
        reader = UserFactory(email=f"reader{n}@customer.test")
        forum.flag_comment(spam, actor=Customer(reader, org), reason="spam")
        forum.mark_affected(incident, actor=Customer(reader, org), component=api)
    forum.mark_affected(incident, actor=Customer(casey, org))
    return incident, question, spam


def test_answer_a_question_and_clear_the_queue(page, sign_in, editor, org, discussion, shot):
    incident, question, spam = discussion
    sign_in(editor)
    visit(page, f"/dashboard/{org.slug}/incidents/{incident.public_id}/")
    summary = page.locator(".fd-summary")
    expect(summary).to_contain_text("4 people told us they were affected (API: 3).")
    shot("incident")
    follow(page, summary.get_by_role("link", name="Open the discussion"))

    # Answer Casey's question from the dashboard, with the Staff badge.
    card = page.locator(f"#c-{question.public_id}")
    card.locator("summary", has_text="Reply").click()
    card.get_by_label("Reply to Casey Jones").fill(
        "Only eu-west-1. Uploads in eu-west-2 are fine; we are rolling out a fix."
    )
    submit(page, card.get_by_role("button", name="Post reply as staff"))
    answer = Comment.objects.get(parent=question)
    reply = page.locator(f"#c-{answer.public_id}")
    expect(reply).to_contain_text(f"Staff · {org.name}")
    submit(page, reply.get_by_role("button", name="Mark as answer"))
    expect(page.locator(f"#c-{answer.public_id}")).to_contain_text("✓ Answer")
    shot("discussion")

    # The spam was hidden by readers' flags: the navigation counts it, the queue lists it.
    nav_link = page.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name=re.compile("^Forum, 1 awaiting review")
    )
    expect(nav_link).to_contain_text("1")
    follow(page, nav_link)
    item = page.locator(f"#q-{spam.public_id}")
    expect(item).to_contain_text("Hidden by flags")
    expect(item).to_contain_text("Spam \N{MULTIPLICATION SIGN}3")
    expect(item).to_contain_text(incident.name)
    shot("queue")
    item.locator("summary", has_text="Remove").click()
    item.get_by_label(re.compile("^Reason")).fill("Advertising")
    submit(page, item.get_by_role("button", name="Remove comment"))
    expect(page.locator("main")).to_contain_text("Nothing to review")
    shot("queue-empty")

    spam.refresh_from_db()
    answer.refresh_from_db()
    assert (spam.status, answer.is_answer, answer.is_staff) == ("removed", True, True)
