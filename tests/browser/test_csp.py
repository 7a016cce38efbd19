"""The main pages work under the Content-Security-Policy (apps/core/csp.py): Chromium loads each
one, and nothing is refused (no `securitypolicyviolation` event) and nothing is reported on the
console as an error or warning (a refused script, an unknown Permissions-Policy feature, a
script error).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from apps.forum import rules
from tests.factories import (
    ComponentFactory,
    DomainFactory,
    IncidentFactory,
    IncidentUpdateFactory,
    UserFactory,
)
from tests.forum.factories import CommentFactory, ThreadFactory

from .conftest import visit

pytestmark = pytest.mark.django_db(transaction=True)

# Playwright runs this in every document before the page's own scripts; the policy does not
# apply to it. Violations are counted where the page can see them, reported or not.
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"}`
    + ` at ${event.sourceFile || ""}:${event.lineNumber || ""} ${event.sample || ""}`);
});
"""


@pytest.fixture
def watched(page):
    """The page, recording console errors and warnings and uncaught errors of every document it
    loads (Chromium's verbose DOM hints are advice about markup, not failures)."""
    messages: list[str] = []

    def record(message) -> None:
        if message.type in {"error", "warning"}:
            messages.append(f"console.{message.type}: {message.text}")

    page.on("console", record)
    page.on("pageerror", lambda error: messages.append(f"uncaught: {error}"))
    page.add_init_script(RECORD_VIOLATIONS)
    page.messages = messages
    return page


def assert_clean(page, where: str, expected: str = "") -> None:
    """No refusal and no console message, except those naming `expected` (one known URL)."""
    page.wait_for_load_state("networkidle")
    violations = page.evaluate("() => window.__violations")
    assert [v for v in violations if not expected or expected not in v] == [], where
    assert [m for m in page.messages if not expected or expected not in m] == [], (
        f"{where}: {page.messages}"
    )


@pytest.fixture
def incident(org, monkeypatch):
    monkeypatch.setattr(rules, "FORM_MIN_SECONDS", 0)
    now = timezone.now()
    api = ComponentFactory(organization=org, name="API")
    incident = IncidentFactory(
        organization=org, name="Elevated API errors", started_at=now - timedelta(hours=1)
    )
    incident.components.add(api)
    IncidentUpdateFactory(
        incident=incident,
        status="investigating",
        display_at=now - timedelta(minutes=30),
        body="We are looking into failed requests.",
    )
    thread = ThreadFactory(incident=incident)
    CommentFactory(thread=thread, author_name="Priya", body_source="Are webhooks affected too?")
    return incident


@pytest.mark.parametrize("size", ["desktop"])
def test_public_pages_run_under_the_policy(watched, incident, org, sign_in):
    for path in ["/s/acme/", "/s/acme/history/", "/s/acme/down/", "/s/acme/signin/"]:
        visit(watched, path)
        assert_clean(watched, path)
    # The incident page as a signed-in reader: htmx and the discussion's scripts load.
    sign_in(UserFactory(email="reader@example.test"))
    visit(watched, f"/s/acme/incidents/{incident.public_id}/")
    expect(watched.get_by_text("Are webhooks affected too?")).to_be_visible()
    assert watched.evaluate("() => typeof window.htmx") == "object"
    assert_clean(watched, "incident page")


@pytest.mark.parametrize("size", ["desktop"])
def test_the_outage_pages_inline_script_runs(watched, incident):
    visit(watched, "/s/acme/down/")
    # The script rewrites each time with how long ago it was: it ran, under the policy.
    expect(watched.locator("time[data-ago]").first).to_contain_text("ago")
    expect(watched.locator("#freshness")).to_contain_text("Checked with the status page")
    assert_clean(watched, "down page")


@pytest.mark.parametrize("size", ["desktop"])
def test_sign_in_and_dashboard_pages_run_under_the_policy(watched, incident, org, owner, sign_in):
    visit(watched, "/accounts/login/")
    assert_clean(watched, "sign-in")
    sign_in(owner)
    for path in [
        "/dashboard/acme/",
        f"/dashboard/acme/incidents/{incident.public_id}/",
        "/dashboard/acme/incidents/new/",
        "/dashboard/acme/team/",
        "/dashboard/acme/settings/",
        "/dashboard/acme/settings/banner/",
        "/dashboard/new/",
    ]:
        visit(watched, path)
        assert_clean(watched, path)


@pytest.mark.parametrize("size", ["desktop"])
def test_the_status_texts_script_fills_the_message(watched, incident, owner, sign_in):
    sign_in(owner)
    visit(watched, f"/dashboard/acme/incidents/{incident.public_id}/")
    form = watched.locator("form", has=watched.locator("[name=status]")).first
    form.locator("[name=status]").select_option("monitoring")
    expect(form.locator("[name=body]")).not_to_have_value("")
    assert_clean(watched, "status texts")


@pytest.mark.parametrize("size", ["desktop"])
def test_a_destructive_form_asks_first(watched, org, owner, sign_in):
    DomainFactory(organization=org, hostname="status.acme-cloud.com")
    sign_in(owner)
    visit(watched, "/dashboard/acme/domains/")
    questions: list[str] = []

    def dismiss(dialog):
        questions.append(dialog.message)
        dialog.dismiss()

    watched.on("dialog", dismiss)
    watched.get_by_role("button", name="Remove").click()
    watched.wait_for_timeout(300)
    assert questions == ["Remove status.acme-cloud.com? It stops serving your page immediately."]
    # Dismissed: nothing was sent, the domain is still listed.
    expect(watched.get_by_text("status.acme-cloud.com").first).to_be_visible()
    assert_clean(watched, "domains")


@pytest.mark.parametrize("size", ["desktop"])
def test_api_docs_and_redoc_run_under_the_policy(watched):
    visit(watched, "/api/docs/")
    assert_clean(watched, "API docs")
    visit(watched, "/api/redoc/")
    # Redoc rendered the schema from the vendored bundle (the network beyond the live server is
    # cut off by the page fixture).
    expect(watched.locator("h1").first).to_contain_text("Candor", timeout=30_000)
    # The footer's logo no longer comes from the vendor's CDN (static/vendor/README.md): no
    # refusal, no console error.
    assert_clean(watched, "Redoc")


@pytest.mark.parametrize("size", ["desktop"])
def test_two_factor_setup_and_recovery_codes_run_under_the_policy(watched, owner, sign_in):
    from .test_two_factor import set_up_authenticator_app

    sign_in(owner)
    visit(watched, "/accounts/2fa/totp/activate/")
    # Ends on the recovery codes, whose "I saved them" form allauth's onload.js wires up from a
    # JSON block (data-allauth-onload): a data block, not a script.
    set_up_authenticator_app(watched, lambda step: None, "csp")
    assert_clean(watched, "two-factor setup")
    visit(watched, "/accounts/2fa/recovery-codes/")
    assert_clean(watched, "recovery codes")
