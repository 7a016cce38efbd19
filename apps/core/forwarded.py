"""The client's address behind our own proxies (the front cache, a load balancer).

Candor reads the client from REMOTE_ADDR everywhere (per-address limits on sign-in, subscribing,
API authentication failures; the audit log). Behind nginx that is nginx's address for every
reader, so one abuser would use up everybody's per-address limit. gunicorn does not help: its
--forwarded-allow-ips only decides the URL scheme, never REMOTE_ADDR.

So the WSGI application (config/wsgi.py) is wrapped: when the peer is one of TRUSTED_PROXIES,
REMOTE_ADDR becomes the right-most X-Forwarded-For address that is not itself a trusted proxy:
the address the outermost trusted proxy saw. Addresses further left were written by the client
and may be anything, so they are never used. With TRUSTED_PROXIES empty (the default) nothing
changes, and a client's own X-Forwarded-For is ignored as before.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Iterable[str]) -> list[Network]:
    """TRUSTED_PROXIES entries (addresses or CIDR ranges); ValueError names a bad one."""
    networks = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise ValueError(
                f"TRUSTED_PROXIES: {value!r} is not an IP address or network"
            ) from None
    return networks


def _trusted(address: str, networks: Sequence[Network]) -> bool | None:
    """Whether `address` is a trusted proxy; None when it is not an IP address at all."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    return any(ip in network for network in networks)


def forwarded_client(peer: str, forwarded_for: str, networks: Sequence[Network]) -> str:
    """The client address for a request from `peer` carrying `forwarded_for`."""
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        trusted = _trusted(hop, networks)
        if trusted is None:
            # Garbage where an address should be: our proxies never write that, so it came from
            # further out; stop at the last address we could vouch for.
            return peer
        if not trusted:
            return hop
    return hops[0] if hops else peer


class TrustedProxies:
    """WSGI middleware: sets REMOTE_ADDR from X-Forwarded-For for requests from `networks`."""

    def __init__(self, application: Any, networks: Sequence[Network]) -> None:
        self.application = application
        self.networks = list(networks)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.networks:
            peer = environ.get("REMOTE_ADDR", "")
            client = forwarded_client(peer, environ.get("HTTP_X_FORWARDED_FOR", ""), self.networks)
            if client != peer:
                environ["REMOTE_ADDR"] = client
        return self.application(environ, start_response)
