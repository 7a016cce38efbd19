"""apps/core/http.py: the only way to fetch user-supplied URLs, and it refuses our network."""

from __future__ import annotations

import ast
import socket
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
