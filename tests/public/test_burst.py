"""A burst of changes (a busy discussion bumps the content version with every comment) costs
about one rendering per page per second, while one change after a quiet spell shows at once;
a poll is tagged with the version the served copy shows, so it catches up after the burst."""

from __future__ import annotations

import pytest

from apps.organizations.models import Organization
from apps.organizations.published import publish_version
from apps.public import caching, views_public
from tests.factories import ComponentFactory

PAGE = "/s/acme/"


@pytest.fixture
def page(org):
    return ComponentFactory(organization=org, name="API")


@pytest.fixture
def renders(monkeypatch):
    """Counts the status page's renderings (not cache hits)."""
    seen: list[str] = []
    render = views_public.render_to_string

    def counted(template, *args, **kwargs):
        seen.append(template)
        return render(template, *args, **kwargs)

    monkeypatch.setattr(views_public, "render_to_string", counted)
    return seen


@pytest.fixture
def clock(monkeypatch):
    now = [1_800_000_000.0]
    monkeypatch.setattr(caching.time, "time", lambda: now[0])
    return now


def bump(org, times=1):
    for _ in range(times):
        version = Organization.objects.get(pk=org.pk).content_version + 1
        Organization.objects.filter(pk=org.pk).update(content_version=version)
        publish_version(org.pk, version)  # as bump_content_version does after commit


def test_one_change_after_a_rendering_is_rendered_at_once(client, org, page, renders, clock):
    client.get(PAGE)
    bump(org)
    clock[0] += 0.1
    client.get(PAGE)
    bump(org, 2)
    clock[0] += 0.1
    client.get(PAGE)
    assert len(renders) == 3


def test_during_a_burst_a_page_is_rendered_about_once_a_second(client, org, page, renders, clock):
    first = client.get(PAGE)
    for _ in range(20):  # 200 changes within a second, read after every ten
        bump(org, 10)
        clock[0] += 0.05
        assert client.get(PAGE).content == first.content
    assert len(renders) == 1
    clock[0] += 0.1  # the copy is now over a second old: the next read renders
    bump(org)
    client.get(PAGE)
    assert len(renders) == 2


def test_a_poll_during_a_burst_is_tagged_with_the_version_it_shows(client, org, page, clock):
    shown = Organization.objects.get(pk=org.pk).content_version
    client.get(PAGE)
    bump(org, 5)
    clock[0] += 0.2
    response = client.get(PAGE + "live/", HTTP_IF_NONE_MATCH=f'W/"v{shown - 1}"')
    assert response.status_code == 200
    assert response["ETag"] == f'W/"v{shown}"'
    # The reader polls with that tag and, the copy being older than a second, gets the rest.
    clock[0] += 1.0
    caught_up = client.get(PAGE + "live/", HTTP_IF_NONE_MATCH=response["ETag"])
    assert caught_up.status_code == 200
    assert caught_up["ETag"] == f'W/"v{shown + 5}"'


def test_while_one_request_renders_the_others_serve_the_last_copy(
    client, org, page, renders, clock, monkeypatch
):
    first = client.get(PAGE)
    bump(org)
    busy = [True]  # someone else is rendering this page
    try_lock = caching._try_lock
    monkeypatch.setattr(caching, "_try_lock", lambda key: not busy[0] and try_lock(key))
    assert client.get(PAGE).content == first.content
    assert len(renders) == 1
    busy[0] = False
    assert client.get(PAGE).content != first.content
    assert len(renders) == 2


def test_with_no_copy_to_serve_a_request_renders_even_while_another_does(
    client, org, page, renders, monkeypatch
):
    monkeypatch.setattr(caching, "_try_lock", lambda key: False)
    assert client.get(PAGE).status_code == 200
    assert len(renders) == 1
