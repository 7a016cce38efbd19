"""The client address behind a trusted proxy (apps/core/proxy.py)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory, override_settings

from apps.core.proxy import ForwardedForMiddleware, forwarded_client

NGINX = ("10.0.0.0/8",)


@pytest.mark.parametrize(
    ("peer", "header", "cidrs", "expected"),
    [
        # No trusted proxies configured: the header is ignored, whoever sends it.
        ("203.0.113.9", "198.51.100.1", (), "203.0.113.9"),
        # A client talking to us directly cannot choose its address.
        ("203.0.113.9", "198.51.100.1", NGINX, "203.0.113.9"),
        # Through nginx: the address nginx saw.
        ("10.0.0.5", "198.51.100.1", NGINX, "198.51.100.1"),
        # A client-supplied first entry is not believed: the rightmost untrusted hop wins.
        ("10.0.0.5", "1.2.3.4, 198.51.100.1", NGINX, "198.51.100.1"),
        # Two proxies of ours (a load balancer, then nginx).
        ("10.0.0.5", "198.51.100.1, 10.0.0.7", NGINX, "198.51.100.1"),
        # IPv6 clients.
        ("10.0.0.5", "2001:db8::1", NGINX, "2001:db8::1"),
        # Garbage in the chain: keep the peer rather than guess.
        ("10.0.0.5", "198.51.100.1, not-an-ip", NGINX, "10.0.0.5"),
        # Only proxies in the chain: the peer.
        ("10.0.0.5", "10.0.0.6", NGINX, "10.0.0.5"),
    ],
)
def test_forwarded_client(peer: str, header: str, cidrs: tuple[str, ...], expected: str) -> None:
    assert forwarded_client(peer, header, cidrs) == expected


def _seen_address(cidrs: list[str], peer: str, header: str | None) -> str:
    seen: list[str] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(request.META["REMOTE_ADDR"])
        return HttpResponse()

    request = RequestFactory().get("/", REMOTE_ADDR=peer)
    if header is not None:
        request.META["HTTP_X_FORWARDED_FOR"] = header
    with override_settings(TRUSTED_PROXIES=cidrs):
        ForwardedForMiddleware(view)(request)
    return seen[0]


def test_middleware_rewrites_remote_addr_only_behind_a_trusted_proxy() -> None:
    assert _seen_address(["127.0.0.0/8"], "127.0.0.1", "6.6.6.6, 198.51.100.7") == "198.51.100.7"
    assert _seen_address([], "127.0.0.1", "198.51.100.7") == "127.0.0.1"
    assert _seen_address(["127.0.0.0/8"], "127.0.0.1", None) == "127.0.0.1"


def test_it_runs_before_everything_that_reads_the_address() -> None:
    assert settings.MIDDLEWARE[0] == "apps.core.proxy.ForwardedForMiddleware"


def test_a_malformed_trusted_proxy_is_a_startup_error() -> None:
    from apps.core.checks import check_trusted_proxies

    with override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "nginx"]):
        errors = check_trusted_proxies(None)
    assert [error.id for error in errors] == ["candor.E010"]
    assert "'nginx'" in errors[0].msg
