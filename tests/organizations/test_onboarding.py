"""The dashboard home's checklist: steps contributed by the apps above, through a registry."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.organizations import onboarding


@pytest.fixture
def registry(monkeypatch):
    steps = dict(onboarding._steps)
    monkeypatch.setattr(onboarding, "_steps", steps)
    return steps


def step(title):
    return {"title": title, "text": "", "done": False, "url": "/", "action": title}


def test_contributed_steps_come_first_in_position_order(login, org, owner, registry):
    onboarding.register("test.late", position=90)(lambda request: step("Late"))
    onboarding.register("test.early", position=5)(lambda request: step("Early"))
    response = login(owner).get(reverse("organizations:overview", args=[org.slug]))
    titles = [s["title"] for s in response.context["steps"]]
    assert titles[:3] == ["Early", "Add the components customers depend on", "Late"]
    assert titles[3] == "Invite your team"


def test_a_step_that_does_not_apply_is_left_out_and_names_register_once(
    login, org, owner, registry
):
    onboarding.register("test.none", position=1)(lambda request: None)
    onboarding.register("test.twice", position=2)(lambda request: step("First"))
    onboarding.register("test.twice", position=2)(lambda request: step("Second"))
    response = login(owner).get(reverse("organizations:overview", args=[org.slug]))
    titles = [s["title"] for s in response.context["steps"]]
    assert titles[0] == "Second"
    assert "First" not in titles
    assert len(titles) == 4  # Second, components, team, domain
