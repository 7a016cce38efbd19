"""REMOTE_ADDR behind our own proxies (apps/core/forwarded.py, TRUSTED_PROXIES)."""

from __future__ import annotations

import pytest

from apps.core.forwarded import TrustedProxies, forwarded_client, parse_networks
from tests.test_settings import GOOD_PRODUCTION, SETUP, run

PROXIES = parse_networks(["10.0.0.5", "172.28.0.0/24", "::1"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        # The front cache (trusted) saw 203.0.113.7.
        ("10.0.0.5", "203.0.113.7", "203.0.113.7"),
        # Whatever the client wrote further left is not believed.
        ("10.0.0.5", "1.2.3.4, 203.0.113.7", "203.0.113.7"),
        # Two of our proxies in a row: the address the outer one saw.
        ("10.0.0.5", "203.0.113.7, 172.28.0.9", "203.0.113.7"),
        ("::1", "2001:db8::1", "2001:db8::1"),
        # A client talking to us directly cannot choose its address.
        ("198.51.100.2", "10.0.0.5", "198.51.100.2"),
        ("198.51.100.2", "203.0.113.7", "198.51.100.2"),
        # No header, or only our own proxies in it.
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", "172.28.0.9", "172.28.0.9"),
        # Garbage in the header: stop at the proxy.
        ("10.0.0.5", "203.0.113.7, not-an-address", "10.0.0.5"),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_wrote(peer, forwarded_for, client):
    assert forwarded_client(peer, forwarded_for, PROXIES) == client


def test_without_trusted_proxies_the_peer_is_the_client():
    assert forwarded_client("10.0.0.5", "203.0.113.7", []) == "10.0.0.5"


def test_the_wsgi_middleware_rewrites_remote_addr_for_trusted_peers_only():
    seen = []

    def app(environ, start_response):
        seen.append(environ["REMOTE_ADDR"])
        return [b""]

    wrapped = TrustedProxies(app, PROXIES)
    wrapped({"REMOTE_ADDR": "10.0.0.5", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, None)
    wrapped({"REMOTE_ADDR": "198.51.100.2", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}, None)

    assert seen == ["203.0.113.7", "198.51.100.2"]


def test_the_wsgi_application_is_wrapped():
    from config.wsgi import application

    assert isinstance(application, TrustedProxies)


def test_a_bad_trusted_proxy_entry_is_refused_at_startup(tmp_path):
    result = run(SETUP, tmp_path, **GOOD_PRODUCTION, TRUSTED_PROXIES="10.0.0.5,front")

    assert result.returncode != 0
    assert "TRUSTED_PROXIES: 'front'" in result.stderr
