"""apps/core/http.py: the only way to fetch user-supplied URLs, and it refuses our network."""

from __future__ import annotations

import ast
import socket
import threading
from pathlib import Path

import pytest
from django.conf import settings

from apps.core import http
from tests.notifications.receiver import http_receiver

REJECTED = [
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "127.0.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",  # noqa: S104 (a test vector, nothing binds to it)
    "::1",
    "fe80::1",
    "fc00::1",
    "fd00:ec2::254",
    "::ffff:127.0.0.1",
    "198.18.0.1",
    "255.255.255.255",
    "224.0.0.1",
    "64:ff9b::a00:1",
    "2002:a00:1::",
    "64:ff9b::7f00:1",
    "2002:7f00:1::",
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",
    "240.0.0.1",
    "ff02::1",
    "::",
    "::ffff:10.0.0.1",
]
ACCEPTED = [
    "8.8.8.8",
    "1.1.1.1",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2a00:1450:4001:80b::200e",
]


@pytest.mark.parametrize("address", REJECTED)
def test_non_public_addresses_are_refused(address):
    assert http.is_public_address(address) is False


@pytest.mark.parametrize("address", ACCEPTED)
def test_public_addresses_are_allowed(address):
    assert http.is_public_address(address) is True


def test_the_loopback_switch_is_off_by_default():
    assert getattr(settings, http.ALLOW_LOOPBACK_SETTING, False) is False
    with pytest.raises(http.UnsafeURLError):
        http.post("http://127.0.0.1:9/hook", b"{}")


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/",
        "http://0x7f000001/",
        "http://017700000001/",
        "http://[::ffff:127.0.0.1]/",
        "http://1.1.1.1@127.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "ftp://8.8.8.8/",
        "file:///etc/passwd",
        "gopher://8.8.8.8/",
        "http:///nohost",
    ],
)
def test_dangerous_urls_are_refused_without_connecting(url, monkeypatch):
    connects = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: connects.append(a))
    with pytest.raises(http.UnsafeURLError):
        http.post(url, b"{}")
    assert connects == []


def test_a_rebinding_dns_answer_is_never_used(monkeypatch):
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1"])
    connects: list[tuple] = []

    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]

    def fake_connect(address, *args, **kwargs):
        connects.append(address)
        raise ConnectionRefusedError("test")

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", fake_connect)
    with pytest.raises(http.OutboundError):
        http.post("http://hooks.example.test/hook", b"{}")
    assert connects == [("93.184.216.34", 80)]


def test_any_non_public_answer_refuses_the_host(monkeypatch):
    def fake_getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.5", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with pytest.raises(http.UnsafeURLError):
        http.validate_url("https://hooks.example.test/")


def test_it_posts_to_a_local_receiver_when_tests_allow_loopback(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    with http_receiver() as receiver:
        response = http.post(receiver.url, b'{"a": 1}', {"Content-Type": "application/json"})
    assert response.status == 200
    assert receiver.requests[0].body == b'{"a": 1}'
    assert receiver.requests[0].headers["host"] == receiver.url.split("/")[2]


def test_redirects_are_not_followed(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    with http_receiver() as receiver:
        receiver.statuses = [302]
        receiver.extra_headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
        response = http.post(receiver.url, b"{}")
    assert response.status == 302
    assert response.ok is False
    assert len(receiver.requests) == 1


def test_a_slow_endpoint_times_out(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    with http_receiver() as receiver:
        receiver.delay = 2
        with pytest.raises(http.OutboundError):
            http.post(receiver.url, b"{}", total_timeout=0.5)


HTTP_CLIENTS = {
    "requests",
    "httpx",
    "urllib.request",
    "urllib3",
    "aiohttp",
    "http.client",
    "pycurl",
}


def _imported_modules(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def test_no_other_module_in_apps_imports_an_http_client():
    apps_dir = Path(settings.BASE_DIR) / "apps"
    allowed = apps_dir / "core" / "http.py"
    offenders = []
    for path in sorted(apps_dir.rglob("*.py")):
        if path == allowed:
            continue
        for module in _imported_modules(ast.parse(path.read_text(), str(path))):
            if any(module == name or module.startswith(name + ".") for name in HTTP_CLIENTS):
                offenders.append(f"{path.relative_to(apps_dir)}: {module}")
    assert offenders == []


def _self_signed(hostname: str, directory) -> tuple[str, str]:
    """A throwaway certificate for hostname (cryptography is already installed via allauth)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_receiver(tmp_path, settings, monkeypatch):
    """An HTTPS receiver on 127.0.0.1 whose certificate is for hooks.example.test only."""
    import ssl

    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    cert, key = _self_signed("hooks.example.test", tmp_path)
    real_context = ssl.create_default_context

    def trusting_test_ca(*args, **kwargs):
        context = real_context(*args, **kwargs)
        context.load_verify_locations(cert)
        return context

    monkeypatch.setattr(ssl, "create_default_context", trusting_test_ca)
    real_getaddrinfo = socket.getaddrinfo

    def resolve_test_names(host, port, *args, **kwargs):
        if host.endswith(".example.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve_test_names)
    with http_receiver() as receiver:
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(cert, key)
        receiver.server.socket = server_context.wrap_socket(
            receiver.server.socket, server_side=True
        )
        yield receiver


def test_https_connects_to_the_vetted_ip_with_the_hostname_for_sni_and_host(tls_receiver):
    port = tls_receiver.url.split(":")[2].split("/")[0]
    response = http.post(f"https://hooks.example.test:{port}/hook", b"{}")

    assert response.status == 200
    assert tls_receiver.requests[0].headers["host"] == f"hooks.example.test:{port}"


def test_https_checks_the_certificate_against_the_hostname(tls_receiver):
    port = tls_receiver.url.split(":")[2].split("/")[0]
    with pytest.raises(http.OutboundError, match=r"(?i)certificate|hostname"):
        http.post(f"https://other.example.test:{port}/hook", b"{}")


# --- Session: kept connections ------------------------------------------------------------------


def test_a_session_keeps_a_tls_connection_and_checks_each_host_name(tls_receiver):
    """Over HTTPS one verified connection carries both posts to hooks.example.test; a post to
    another name on the same address never borrows it: it gets its own handshake, which fails
    on the certificate."""
    port = tls_receiver.url.split(":")[2].split("/")[0]
    with http.Session() as session:
        first = session.post(f"https://hooks.example.test:{port}/hook/1", b"{}")
        second = session.post(f"https://hooks.example.test:{port}/hook/2", b"{}")
        with pytest.raises(http.OutboundError, match=r"(?i)certificate|hostname"):
            session.post(f"https://other.example.test:{port}/hook/3", b"{}")

    assert (first.status, second.status) == (200, 200)
    assert [r.path for r in tls_receiver.requests] == ["/hook/1", "/hook/2"]
    assert session.connections_opened == 2  # hooks.example.test once, other.example.test once


def test_a_session_keeps_one_connection_for_posts_to_the_same_endpoint(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    with http_receiver() as receiver, http.Session() as session:
        answers = [session.post(f"{receiver.url}/{n}", b'{"n": %d}' % n) for n in range(5)]

    assert [answer.status for answer in answers] == [200] * 5
    assert [r.path for r in receiver.requests] == [f"/hook/{n}" for n in range(5)]
    assert receiver.connections == 1
    assert session.connections_opened == 1
    assert "connection" not in receiver.requests[0].headers  # keep-alive, HTTP/1.1's default


def test_a_request_goes_out_in_one_write_headers_and_body_together(settings, monkeypatch):
    """http.client's own way is two writes (headers, then body): two segments and two wake-ups
    of the receiver per webhook."""
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    writes: list[bytes] = []
    sendall = socket.socket.sendall
    poster = threading.get_ident()

    def recording_sendall(sock, data, *args):
        if threading.get_ident() == poster:  # not the receiver's answers
            writes.append(bytes(data))
        return sendall(sock, data, *args)

    monkeypatch.setattr(socket.socket, "sendall", recording_sendall)
    body = b'{"event": "incident.updated", "text": "%s"}' % (b"x" * 3000)
    with http_receiver() as receiver, http.Session() as session:
        first = session.post(f"{receiver.url}/1", body, {"webhook-id": "msg_1"})
        second = session.post(f"{receiver.url}/2", body, {"webhook-id": "msg_2"})

    assert (first.status, second.status) == (200, 200)
    assert len(writes) == 2  # one per request, the kept connection's second included
    for write, path in zip(writes, ("/hook/1", "/hook/2"), strict=True):
        assert write.startswith(b"POST %s HTTP/1.1\r\n" % path.encode())
        assert write.endswith(b"\r\n\r\n" + body)
    assert [r.body for r in receiver.requests] == [body, body]
    assert receiver.requests[1].headers["webhook-id"] == "msg_2"


def test_a_session_opens_a_connection_per_post_when_the_endpoint_closes_them(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    with http_receiver(keep_alive=False) as old, http.Session() as session:
        assert [session.post(old.url, b"{}").status for _ in range(3)] == [200] * 3
    assert old.connections == 3

    with http_receiver() as closing, http.Session() as session:
        closing.extra_headers = {"Connection": "close"}
        assert [session.post(closing.url, b"{}").status for _ in range(3)] == [200] * 3
    assert closing.connections == 3


def test_a_kept_connection_the_endpoint_closed_meanwhile_is_replaced_once(settings):
    """The receiver answers keep-alive, then drops the connection while it is idle: the next
    post fails on the dead connection before any answer and goes out once more on a new one."""
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    received: list[bytes] = []

    def serve_one_request_per_connection() -> None:
        for _ in range(2):
            connection, _ = listener.accept()
            with connection:
                data = b""
                while b"\r\n\r\n" not in data or not data.endswith(b"{}"):
                    data += connection.recv(65536)
                received.append(data)
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            # closed without saying so: the client still holds it as idle

    server = threading.Thread(target=serve_one_request_per_connection, daemon=True)
    server.start()
    with http.Session() as session:
        first = session.post(f"http://127.0.0.1:{port}/hook", b"{}")
        second = session.post(f"http://127.0.0.1:{port}/hook", b"{}")
    server.join(5)
    listener.close()

    assert (first.status, second.status) == (200, 200)
    assert len(received) == 2
    assert session.connections_opened == 2


def test_a_session_never_reuses_a_connection_for_a_name_that_turned_internal(settings, monkeypatch):
    """Rebinding: the name resolved to the (test-allowed) receiver, a connection was kept, then
    DNS answers an internal address: the post is refused before the kept connection is used."""
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    answers = {"hooks.example.test": "127.0.0.1"}
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with http_receiver() as receiver, http.Session() as session:
        url = receiver.url.replace("127.0.0.1", "hooks.example.test")
        assert session.post(url, b"{}").status == 200
        answers["hooks.example.test"] = "10.0.0.7"
        with pytest.raises(http.UnsafeURLError):
            session.post(url, b"{}")

    assert len(receiver.requests) == 1


def test_a_session_keeps_connections_apart_per_host_name(settings, monkeypatch):
    """Two names for one address are two endpoints (Host, TLS name): never one connection."""
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host, port, *args, **kwargs):
        if host.endswith(".example.test"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    with http_receiver() as receiver, http.Session() as session:
        port = receiver.url.split(":")[2].split("/")[0]
        for name in ("a.example.test", "b.example.test", "a.example.test", "b.example.test"):
            assert session.post(f"http://{name}:{port}/hook", b"{}").status == 200

    assert receiver.connections == 2
    assert [r.headers["host"] for r in receiver.requests] == [
        f"{name}.example.test:{port}" for name in "abab"
    ]


def test_a_failed_post_does_not_keep_its_connection(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK_TARGETS_FOR_TESTS = True
    with http_receiver() as receiver, http.Session() as session:
        receiver.delay = 1
        with pytest.raises(http.OutboundError):
            session.post(receiver.url, b"{}", total_timeout=0.3)
        receiver.delay = 0
        assert session.post(receiver.url, b"{}").status == 200

    assert session.connections_opened == 2
