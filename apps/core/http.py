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
import threading
import time
from dataclasses import dataclass, field
from typing import Any
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
    # Without it, a write that follows another before its ACK (a request body sent apart from
    # its headers, see _OneWriteRequests) waits for the receiver's delayed ACK (40 ms on
    # Linux) on a kept-alive connection. urllib3 sets the same option by default.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    peer = sock.getpeername()[0]
    # SECURITY: belt and braces: the socket is connected to the address we vetted.
    if peer != ip or not is_allowed_address(peer):
        sock.close()
        raise UnsafeURLError(f"Connected to an unexpected address ({peer}).")
    return sock


class _OneWriteRequests:
    """http.client writes a request's headers and its body with two sends: two segments, and
    on a kept connection two wake-ups of the receiver and two system calls on each side for
    one small webhook. A bytes body is sent with the headers in one write instead (a
    webhook's JSON is a few KB); anything else (a file, chunked encoding) goes on as
    http.client does it."""

    _buffer: list[bytes]

    def _send_output(self, message_body: Any = None, encode_chunked: bool = False) -> None:
        if isinstance(message_body, bytes) and not encode_chunked:
            self._buffer.extend((b"", b""))
            request = b"\r\n".join(self._buffer) + message_body
            del self._buffer[:]
            self.send(request)  # type: ignore[attr-defined]
            return
        super()._send_output(message_body, encode_chunked)  # type: ignore[misc]


class _PinnedHTTPConnection(_OneWriteRequests, http.client.HTTPConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._ip = ip

    def connect(self) -> None:
        self.sock = _connect_vetted(self._ip, self.port, self.timeout)


class _PinnedHTTPSConnection(_OneWriteRequests, http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, ip: str, timeout: float) -> None:
        context = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=context)
        self._ip = ip
        self._context = context

    def connect(self) -> None:
        sock = _connect_vetted(self._ip, self.port, self.timeout)
        # The certificate is checked against the hostname, not the IP we connected to.
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _connection(target: Target, ip: str, connect_timeout: float) -> http.client.HTTPConnection:
    connection_class = _PinnedHTTPSConnection if target.scheme == "https" else _PinnedHTTPConnection
    return connection_class(target.host, target.port, ip, connect_timeout)


def _exchange(
    connection: http.client.HTTPConnection,
    target: Target,
    body: bytes,
    headers: dict[str, str],
    started: float,
    total_timeout: float,
) -> tuple[Response, bool]:
    """One request on `connection` (connected here if it is not yet). Returns the response and
    whether the connection can carry another request (the whole body was read and neither side
    asked to close). Raises OSError, http.client.HTTPException or OutboundError."""
    if connection.sock is None:
        connection.connect()
    # After connecting, the socket timeout bounds each read; the total bound is checked
    # between reads below.
    connection.sock.settimeout(max(0.1, total_timeout - (time.monotonic() - started)))
    connection.request("POST", target.path, body=body, headers=headers)
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
    response = Response(
        status=raw.status,
        headers={k.lower(): v for k, v in raw.getheaders()},
        body=b"".join(chunks),
        elapsed=time.monotonic() - started,
    )
    if size < MAX_RESPONSE_BYTES and not raw.isclosed():
        # The body ended (read1 gives b"" once Content-Length is used up) but http.client only
        # releases the response, and with it the connection, on a read that finds the end.
        raw.read()
    # isclosed(): the body was read to its end (a larger one than MAX_RESPONSE_BYTES was not).
    reusable = raw.isclosed() and not raw.will_close
    return response, reusable


def post(
    url: str,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    connect_timeout: float = CONNECT_TIMEOUT,
    total_timeout: float = TOTAL_TIMEOUT,
) -> Response:
    """POST body to a user-supplied URL on a connection of its own, closed afterwards. Any
    status is returned (redirects are not followed).

    Raises UnsafeURLError (permanent) or OutboundError (transient).
    """
    with Session(keep_alive=False) as session:
        return session.post(
            url, body, headers, connect_timeout=connect_timeout, total_timeout=total_timeout
        )


# Errors that mean a kept-alive connection was closed by the other side while it sat idle
# (before our request reached it): the request is sent once more on a new connection.
_STALE_CONNECTION = (
    http.client.RemoteDisconnected,
    BrokenPipeError,
    ConnectionResetError,
    ConnectionAbortedError,
)


def _transport_error(exc: Exception) -> OutboundError:
    return OutboundError(f"{type(exc).__name__}: {exc}"[:300])


class Session:
    """POSTs that keep their connections open for the next request to the same endpoint.

    A webhook batch posts to many subscribers, often behind one host (a chat service, an
    automation platform, one company's receiver): a new TCP (and TLS) connection per post costs
    more than the post itself. Connections are kept per (scheme, host, port, vetted address):
    every post parses and resolves the URL and vets every address first, and only then takes
    an idle connection to the address it chose, so a name that turns internal is refused before
    any kept connection is used. TLS connections were verified for that host name. Thread-safe:
    a connection is used by one thread at a time; at most `max_idle` are kept per endpoint.
    `close()` closes them all (a batch's end). With `keep_alive=False` (`post`), every request
    says `Connection: close` and gets a connection of its own.

    A kept connection the endpoint closed meanwhile fails on the next request before an answer
    comes; that request is sent once more on a new connection (receivers dedupe on
    `webhook-id`, which is the same). Any other error closes the connection and is raised.
    """

    def __init__(self, *, max_idle: int = 8, keep_alive: bool = True) -> None:
        self.max_idle = max_idle if keep_alive else 0
        self.keep_alive = keep_alive
        self._idle: dict[tuple[str, str, int, str], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self.connections_opened = 0

    def _take(self, key: tuple[str, str, int, str]) -> http.client.HTTPConnection | None:
        with self._lock:
            idle = self._idle.get(key)
            return idle.pop() if idle else None

    def _give_back(
        self, key: tuple[str, str, int, str], connection: http.client.HTTPConnection
    ) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.max_idle:
                idle.append(connection)
                return
        connection.close()

    def _open(self, target: Target, ip: str, connect_timeout: float) -> http.client.HTTPConnection:
        with self._lock:
            self.connections_opened += 1
        return _connection(target, ip, connect_timeout)

    def post(
        self,
        url: str,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        connect_timeout: float = CONNECT_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
    ) -> Response:
        """POST body to url, on a kept connection when one is idle. Raises UnsafeURLError or
        OutboundError."""
        target = parse_url(url)
        ip = resolve(target.host, target.port)[0]
        key = (target.scheme, target.host, target.port, ip)
        request_headers = {"User-Agent": USER_AGENT, **(headers or {})}
        if not self.keep_alive:
            request_headers["Connection"] = "close"
        started = time.monotonic()
        connection = self._take(key)
        reused = connection is not None
        while True:
            if connection is None:
                connection = self._open(target, ip, connect_timeout)
            try:
                response, reusable = _exchange(
                    connection, target, body, request_headers, started, total_timeout
                )
            except _STALE_CONNECTION as exc:
                connection.close()
                connection = None
                if reused:
                    reused = False  # once: the next failure is the endpoint's own
                    continue
                raise _transport_error(exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                raise _transport_error(exc) from exc
            except BaseException:  # UnsafeURLError, a timeout while reading, anything else
                connection.close()
                raise
            if reusable:
                self._give_back(key, connection)
            else:
                connection.close()
            return response

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
