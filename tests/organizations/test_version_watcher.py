"""Published versions pushed to each web process (apps/organizations/published.py VersionWatcher):
no Redis read per fast-path hit while subscribed, every read while not."""

from __future__ import annotations

import os
import time

import pytest
from django.core.cache import cache

from apps.organizations import published
from apps.organizations.published import CHANNEL, FORGOTTEN, VersionWatcher


def subscribed(watcher: VersionWatcher) -> VersionWatcher:
    watcher.healthy = True
    return watcher


def test_a_known_version_is_answered_only_while_subscribed():
    watcher = VersionWatcher()
    watcher.saw(7, 3)
    assert watcher.known(7)[1] is None  # not subscribed: ask Redis
    subscribed(watcher)
    assert watcher.known(7)[1] == 3
    assert watcher.known(8)[1] is None  # never heard of: ask Redis


def test_versions_only_rise_whatever_order_they_arrive_in():
    watcher = subscribed(VersionWatcher())
    generation, _ = watcher.known(1)
    watcher.saw(1, 5)
    watcher.learn(1, 4, generation)  # a read that started before the bump finished last
    watcher.saw(1, 3)
    assert watcher.known(1)[1] == 5


def test_a_read_from_before_a_lost_subscription_is_not_kept():
    watcher = subscribed(VersionWatcher())
    generation, _ = watcher.known(1)
    watcher._down()  # messages sent meanwhile are lost
    watcher.healthy = True  # subscribed again (a new generation)
    watcher.learn(1, 4, generation)
    assert watcher.known(1)[1] is None
    generation, _ = watcher.known(1)
    watcher.learn(1, 4, generation)
    assert watcher.known(1)[1] == 4


def test_a_deleted_organization_is_forgotten():
    watcher = subscribed(VersionWatcher())
    watcher.saw(1, 5)
    watcher.saw(1, FORGOTTEN)
    assert watcher.known(1)[1] is None


@pytest.mark.services
@pytest.mark.skipif(
    not os.environ.get("CANDOR_TEST_SERVICES"), reason="needs Redis (CANDOR_TEST_SERVICES=1)"
)
def test_versions_published_elsewhere_arrive_and_a_cut_subscription_falls_back_to_reads():
    client = published._redis_client(CHANNEL)
    assert client is not None, "the cache must be Redis here"
    watcher = VersionWatcher()
    watcher.RETRY_SECONDS = 0.1
    watcher.ensure_running()

    def until(check, seconds: float = 5.0) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.02)
        return False

    assert until(lambda: watcher.healthy)
    organization_id = 987_654_321
    # Another process's publish: only the message reaches this one.
    client.publish(cache.make_and_validate_key(CHANNEL), f"{organization_id} 41")
    assert until(lambda: watcher.known(organization_id)[1] == 41)

    client.client_kill_filter(_type="pubsub")  # Redis restarting, a network cut
    assert until(lambda: not watcher.healthy or watcher.known(organization_id)[1] is None)
    assert until(lambda: watcher.healthy)  # back, with an empty memory
    assert watcher.known(organization_id)[1] is None
    client.publish(cache.make_and_validate_key(CHANNEL), f"{organization_id} 42")
    assert until(lambda: watcher.known(organization_id)[1] == 42)
