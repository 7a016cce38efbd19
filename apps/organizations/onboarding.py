"""The dashboard home's onboarding checklist, with steps contributed by the apps above.

The home (organizations:overview) lists what a new organization should do first. Some steps
belong to apps on higher floors ("Add the components customers depend on" is apps.status'), and
organizations must not import them (docs/architecture.md). So each such app registers its step
here from its AppConfig.ready(), and the home asks this registry. Contributed steps come first,
ordered by position; the organization's own steps (team, domain) follow them.

A step is a function of the request returning a dict with `title`, `text`, `done`, `url` and
`action` (and optionally `note`), or None when it does not apply to this member.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

StepFunction = Callable[[HttpRequest], dict[str, Any] | None]

# name -> (position, function). Keyed by name so registering twice (ready() runs again in some
# test setups) replaces rather than duplicates.
_steps: dict[str, tuple[int, StepFunction]] = {}


def register(name: str, *, position: int) -> Callable[[StepFunction], StepFunction]:
    """Decorator: add a step to every organization's checklist."""

    def decorator(function: StepFunction) -> StepFunction:
        _steps[name] = (position, function)
        return function

    return decorator


def contributed_steps(request: HttpRequest) -> list[dict[str, Any]]:
    """The registered steps for this request's organization and member, in position order."""
    ordered = sorted(_steps.items(), key=lambda item: (item[1][0], item[0]))
    return [step for _, (_, function) in ordered if (step := function(request)) is not None]
