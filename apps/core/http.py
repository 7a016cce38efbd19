"""The only place that sends HTTP requests to user-supplied URLs (webhooks, Slack).

SECURITY: a user-supplied URL must never make us talk to our own network. Every request:
- accepts only http/https URLs without credentials;
- resolves the host once, and refuses when *any* resolved address is not public (private,
  loopback, link-local, multicast, reserved, CGNAT, unspecified, and IPv6 forms that embed such
  an IPv4 address: IPv4-mapped, 6to4, Teredo, NAT64);
- connects to the vetted IP itself (sending the original hostname as Host, TLS SNI and
  certificate hostname), so a second DNS answer (rebinding) is never used, and checks the
  connected peer again;
- never follows redirects (http.client does not), times out fast, reads a bounded body.
tests/test_outbound_http.py fails when another module in apps/ imports an HTTP client.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

CONNECT_TIMEOUT = 5.0
TOTAL_TIMEOUT = 15.0
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "Candor-Webhooks/1.0 (+https://candor.dev/webhooks)"

# Test-only escape hatch: allow 127.0.0.1/::1 so tests can POST to a local receiver.
# It is off unless a test turns it on; apps.notifications.checks errors in production.
ALLOW_LOOPBACK_SETTING = "WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS"

# Python's is_global misses these (verified, see shared/reference/delivery-notes.md).
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_SIX_TO_FOUR = ipaddress.ip_network("2002::/16")
_TEREDO = ipaddress.ip_network("2001::/32")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")


class OutboundError(Exception):
    """The request could not be completed (connection refused, timeout, TLS): transient."""


class UnsafeURLError(OutboundError):
    """The URL is not allowed (scheme, credentials, or a non-public address): permanent."""


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it is one of the translation forms."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in _SIX_TO_FOUR:
        return address.sixtofour
    if address in _TEREDO and address.teredo is not None:
        return address.teredo[1]  # the client's (obfuscation undone) address
    return None


def is_public_address(raw: str | ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True only for addresses on the public internet.

    SECURITY: IPv6 forms that embed an IPv4 address are judged by the embedded address (they
    are `is_reserved` themselves, yet DNS64 legitimately returns 64:ff9b:: for public hosts).
    """
    address = ipaddress.ip_address(raw.split("%", 1)[0] if isinstance(raw, str) else raw)
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None:
            return is_public_address(inner)
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return False
    return address.is_global and not (
        address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or address.is_loopback
        or address.is_link_local
        or address.is_private
    )


def _loopback_allowed() -> bool:
    return bool(getattr(settings, ALLOW_LOOPBACK_SETTING, False))


def is_allowed_address(raw: str) -> bool:
    if is_public_address(raw):
        return True
    return _loopback_allowed() and ipaddress.ip_address(raw.split("%", 1)[0]).is_loopback


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str


def parse_url(url: str) -> Target:
    """Validate the URL's form (not its address). Raises UnsafeURLError."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"Not a valid URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURLError("Only http:// and https:// URLs are allowed.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        # SECURITY: `http://1.1.1.1@127.0.0.1/` reads as one host to people, another to code.
        raise UnsafeURLError("URLs with a user name or password are not allowed.")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeURLError("The URL has no host.")
    if any(c.isspace() for c in url):
        raise UnsafeURLError("The URL contains spaces.")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path)


def resolve(host: str, port: int) -> list[str]:
    """Every address the host resolves to, all of them vetted. Raises UnsafeURLError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise OutboundError(f"Could not resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise OutboundError(f"{host} has no address.")
    for address in addresses:
        # SECURITY: refuse when any answer is non-public (OWASP: check all A and AAAA answers).
        if not is_allowed_address(address):
            raise UnsafeURLError(f"{host} resolves to a non-public address ({address}).")
    return addresses


def validate_url(url: str) -> Target:
    """Form and address check, for forms (UX only: requests re-check at connect time)."""
    target = parse_url(url)
    resolve(target.host, target.port)
    return target


# timeout is the connection's own (float | None to http.client); the callers always give a float.
def _connect_vetted(ip: str, port: int, timeout: float | None) -> socket.socket:
    sock = socket.create_connection((ip, port), timeout=timeout)
    peer = sock.getpeername()[0]
    # SECURITY: belt and braces: the socket is connected to the address we vetted.
    if peer != ip or not is_allowed_address(peer):
        sock.close()
        raise UnsafeURLError(f"Connected to an unexpected address ({peer}).")
    return sock


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = _connect_vetted(self._ip, self.port, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=context)
        self._ip = ip
        self._context = context

    def connect(self) -> None:
        sock = _connect_vetted(self._ip, self.port, self.timeout)
        # The certificate is checked against the hostname, not the IP we connected to.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
) -> Response:
    """POST body to a user-supplied URL. Any status is returned (redirects are not followed).

    Raises UnsafeURLError (permanent) or OutboundError (transient).
    """
    target = parse_url(url)
    ip = resolve(target.host, target.port)[0]
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    connection = connection_class(target.host, target.port, ip, connect_timeout)
    started = time.monotonic()
    request_headers = {"User-Agent": USER_AGENT, "Connection": "close", **(headers or {})}
    try:
        connection.connect()
        # After connecting, the socket timeout bounds each read; the total bound is checked
        # between reads below.
        connection.sock.settimeout(max(0.1, total_timeout - (time.monotonic() - started)))
        connection.request("POST", target.path, body=body, headers=request_headers)
        raw = connection.getresponse()
        chunks: list[bytes] = []
        size = 0
        while size < MAX_RESPONSE_BYTES:
            if time.monotonic() - started > total_timeout:
                raise OutboundError("Timed out reading the response.")
            chunk = raw.read1(MAX_RESPONSE_BYTES - size) if hasattr(raw, "read1") else b""
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        return Response(
            status=raw.status,
            headers={k.lower(): v for k, v in raw.getheaders()},
            body=b"".join(chunks),
            elapsed=time.monotonic() - started,
        )
    except UnsafeURLError:
        raise
    except (OSError, http.client.HTTPException) as exc:
        raise OutboundError(f"{type(exc).__name__}: {exc}"[:300]) from exc
    finally:
        connection.close()
