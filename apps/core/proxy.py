"""The client's address behind a reverse proxy or front cache (deploy/nginx, a load balancer).

Every per-client rule (sign-in limits, the API's failed-key throttle, forum rate limits, audit
rows) reads REMOTE_ADDR. Behind nginx that is nginx's address, so all readers would share one
limit. Neither gunicorn nor granian rewrites REMOTE_ADDR from X-Forwarded-For, and trusting the
header from anyone would let a client pick its own address. So: only when the peer is one of
TRUSTED_PROXIES (CIDRs, empty by default) is X-Forwarded-For read, from the right, skipping
addresses that are themselves trusted proxies; the first other address is the client. Anything
malformed leaves REMOTE_ADDR as it was.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def forwarded_client(peer: str, forwarded_for: str, cidrs: tuple[str, ...]) -> str:
    """The client address for a request from `peer` carrying `forwarded_for`."""
    networks = _networks(cidrs)
    if not networks or not _trusted(peer, networks):
        return peer
    for hop in reversed([part.strip() for part in forwarded_for.split(",")]):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # garbage in the chain: keep what we know to be true
        if not _trusted(hop, networks):
            return hop
    return peer


class ForwardedForMiddleware:
    """First in MIDDLEWARE: sets REMOTE_ADDR to the client's address (see the module docstring).
    With TRUSTED_PROXIES empty it is one attribute check per request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        cidrs = tuple(settings.TRUSTED_PROXIES)
        forwarded_for = request.META.get("HTTP_X_FORWARDED_FOR")
        if cidrs and forwarded_for:
            peer = request.META.get("REMOTE_ADDR", "")
            request.META["REMOTE_ADDR"] = forwarded_client(peer, forwarded_for, cidrs)
        return self.get_response(request)
