"""A signed-in customer takes part in an incident's discussion on the public page, at phone and
desktop size, with JavaScript (htmx swaps the discussion) and without (forms post and redirect).
Screenshots: var/screenshots/forum-<step>-<size>.png."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from apps.forum import rules, services
from apps.forum.models import AffectedMark, Comment
from apps.organizations.principals import Customer
from tests.factories import (
    ComponentFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    MembershipFactory,
    UserFactory,
)
from tests.forum.factories import CommentFactory, ThreadFactory

from .conftest import SCREENSHOTS, SIZES, submit, visit


@pytest.fixture
def discussion(org, monkeypatch):
    # A person takes longer than FORM_MIN_SECONDS to type; the browser does not.
    monkeypatch.setattr(rules, "FORM_MIN_SECONDS", 0)
    api = ComponentFactory(organization=org, name="API")
    web = ComponentFactory(organization=org, name="Dashboard")
    now = timezone.now()
    incident = IncidentFactory(
        organization=org, name="Elevated API errors in eu-west", started_at=now - timedelta(hours=1)
    )
    incident.components.add(api, web)
    IncidentUpdateFactory(
        incident=incident,
        status="investigating",
        display_at=now - timedelta(minutes=55),
        body="We are investigating failed requests to the API in eu-west.",
    )
    IncidentUpdateFactory(
        incident=incident,
        status="identified",
        display_at=now - timedelta(minutes=20),
        body="A faulty load balancer was identified; traffic is being moved away from it.",
    )
    staff = MembershipFactory(
        organization=org, user=UserFactory(email="sam@acme.test", display_name="Sam Rivera")
    ).user
    thread = ThreadFactory(incident=incident)
    question = CommentFactory(
        thread=thread,
        author_name="Priya (Acme Retail)",
        created_at=now - timedelta(minutes=45),
        body_source="Are webhooks affected too, or only the REST API?",
        body_html="<p>Are webhooks affected too, or only the REST API?</p>",
    )
    CommentFactory(
        thread=thread,
        parent=question,
        author=staff,
        author_name="Sam Rivera",
        is_staff=True,
        is_answer=True,
        created_at=now - timedelta(minutes=40),
        body_source="Only the REST API: webhooks are delivered from another region.",
        body_html="<p>Only the REST API: webhooks are delivered from another region.</p>",
    )
    CommentFactory(
        thread=thread,
        author_name="Tomasz",
        created_at=now - timedelta(minutes=30),
        body_source="Seeing **503s** from `api.eu-west` since 10:02.",
        body_html="<p>Seeing <strong>503s</strong> from <code>api.eu-west</code> since 10:02.</p>",
    )
    return incident


def keep(page, size, step):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"forum-{step}-{size}.png", full_page=True)


def posted(page, button) -> None:
    """Clicks an htmx form's button and waits until htmx has swapped its answer in. live.js may
    show the result first (its refresh sees the new content version), and the answer's swap,
    arriving after that, would close a reply box the test has opened meanwhile."""
    with page.expect_response(lambda response: response.request.method == "POST") as answer:
        button.click()
    assert answer.value.status == 200, f"{answer.value.url} answered {answer.value.status}"
    page.wait_for_function("() => !document.querySelector('.htmx-request')")


def test_a_customer_comments_marks_affected_and_replies(page, size, look, sign_in, discussion):
    customer = UserFactory(email="casey@customer.test", display_name="Casey Jones")
    sign_in(customer)
    path = f"/s/acme/incidents/{discussion.public_id}/"
    visit(page, path)
    expect(page.locator("#discussion")).to_contain_text("Staff · Acme Cloud")
    expect(page.locator(".fm-answer")).to_contain_text("Only the REST API")
    keep(page, size, "page")
    look("page")

    # "I'm affected too", naming a component (htmx swaps the discussion in place).
    page.get_by_label("Which part?").select_option(label="API")
    posted(page, page.get_by_role("button", name="I'm affected too"))
    expect(page.locator("#affected")).to_contain_text("You are affected (API)")
    expect(page.locator("#affected")).to_contain_text("1 person says they are affected")

    # A question.
    page.get_by_label("Comment as").fill("Is there an ETA? Our checkout depends on it.")
    posted(page, page.get_by_role("button", name="Post comment"))
    expect(page.locator("#discussion .fm-body").filter(has_text="Is there an ETA?")).to_have_count(
        1
    )
    expect(page.get_by_label("Comment as")).to_have_value("")  # htmx's fresh form
    cache.clear()  # a new commenter waits 30 s between comments; this test does not

    # A reply to the staff answer.
    answer = page.locator(".fm-answer")
    answer.get_by_text("Reply", exact=True).click()
    answer.get_by_label("Your reply to Sam Rivera").fill("Thanks, that helps.")
    posted(page, answer.get_by_role("button", name="Post reply"))
    expect(
        page.locator(".fm-replies .fm-body").filter(has_text="Thanks, that helps.")
    ).to_have_count(1)
    keep(page, size, "after")
    look("after")

    assert AffectedMark.objects.get().component.name == "API"
    assert Comment.objects.filter(author=customer).count() == 2


def test_a_page_refresh_during_the_readers_own_post_leaves_its_answer_to_htmx(
    page, sign_in, discussion
):
    """live.js refreshes an open incident's page every second. The reader's comment reaches
    the server, and its answer is held back for 2.5 s: the refreshes meanwhile see the new
    content version, but must not swap the page while htmx waits for that answer (it would
    land in a detached element, and the posted text would stay in the box)."""
    sign_in(UserFactory(email="rory@customer.test", display_name="Rory"))
    visit(page, f"/s/acme/incidents/{discussion.public_id}/")
    refreshes: list[int] = []
    page.on(
        "response",
        lambda r: (
            refreshes.append(r.status)
            if r.request.method == "GET" and "/incidents/" in r.url
            else None
        ),
    )

    def answer_late(route):
        answer = route.fetch()  # the comment is stored now
        time.sleep(2.5)
        route.fulfill(response=answer)

    page.route(f"**/incidents/{discussion.public_id}/comments/", answer_late)
    page.get_by_label("Comment as").fill("Still down for us in Warsaw.")
    posted(page, page.get_by_role("button", name="Post comment"))

    assert 200 in refreshes  # a refresh did see the new version while the answer was held
    expect(page.locator("#discussion .fm-body").filter(has_text="Still down")).to_have_count(1)
    expect(page.get_by_label("Comment as")).to_have_value("")


def test_a_refused_comment_says_why_and_keeps_the_text_with_javascript(
    page, size, look, sign_in, discussion, django_capture_on_commit_callbacks
):
    customer = UserFactory(email="quick@customer.test", display_name="Quinn")
    sign_in(customer)
    visit(page, f"/s/acme/incidents/{discussion.public_id}/")
    page.get_by_label("Comment as").fill("First: is the EU API down?")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("#discussion .fm-body").filter(has_text="First: is")).to_have_count(1)
    # A new commenter's second comment within 30 s: refused (htmx gets a 422 fragment).
    page.get_by_label("Comment as").fill("Second, right away.")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("#discussion [role=alert]")).to_contain_text("Wait 30 seconds")
    expect(page.get_by_label("Comment as")).to_have_value("Second, right away.")
    keep(page, size, "refused-htmx")
    assert Comment.objects.filter(author=customer).count() == 1

    # Someone else comments: the page refreshes itself (static/js/live.js) with the new
    # comment, and the reader still sees why theirs was refused, and still has their text.
    other = Customer(
        UserFactory(email="other@customer.test", display_name="Olu"), discussion.organization
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.post_comment(discussion, actor=other, body="Same for us in Lagos.")
    expect(page.locator("#discussion .fm-body").filter(has_text="Same for us")).to_have_count(1)
    expect(page.locator("#discussion [role=alert]")).to_contain_text("Wait 30 seconds")
    expect(page.get_by_label("Comment as")).to_have_value("Second, right away.")


def test_a_refused_comment_keeps_the_text_without_javascript(browser, site, discussion, size):
    customer = UserFactory(email="dana@customer.test", display_name="Dana")
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(customer)
    context = browser.new_context(viewport=SIZES[size], base_url=site, java_script_enabled=False)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": site,
            }
        ]
    )
    page = context.new_page()
    try:
        page.goto(f"/s/acme/incidents/{discussion.public_id}/")
        page.get_by_label("Comment as").fill("First, plain form post.")
        submit(page, page.get_by_role("button", name="Post comment"))
        expect(page.locator(".fm-body").filter(has_text="First, plain form post.")).to_have_count(1)
        # At once again: the rate limit refuses it, and the text stays in the box.
        page.get_by_label("Comment as").fill("Second, too quick.")
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Post comment").click()
        assert navigation.value.status == 400
        expect(page.locator("#comment-error")).to_contain_text("You are posting quickly")
        expect(page.get_by_label("Comment as")).to_have_value("Second, too quick.")
        keep(page, size, "refused")
    finally:
        context.close()


def test_a_moderator_hides_a_comment_inline(page, size, look, sign_in, org, discussion):
    visit(page, f"/s/acme/incidents/{discussion.public_id}/")
    expect(page.locator("#discussion")).not_to_contain_text("Moderate")
    keep(page, size, "anonymous")
    editor = MembershipFactory(organization=org, role="editor").user
    sign_in(editor)
    visit(page, f"/s/acme/incidents/{discussion.public_id}/")
    tomasz = page.locator(".fm-comment").filter(has_text="Tomasz")
    tomasz.get_by_text("Moderate", exact=True).click()
    tomasz.get_by_label("Public reason").fill("Duplicate of the question above")
    keep(page, size, "moderator")
    look("moderator")
    tomasz.get_by_role("button", name="Hide").click()
    expect(page.locator("#discussion")).to_contain_text(
        "Hidden by a moderator: Duplicate of the question above"
    )
    expect(page.locator("#discussion")).not_to_contain_text("Seeing 503s")
    assert Comment.objects.get(author_name="Tomasz").status == Comment.Status.HIDDEN
