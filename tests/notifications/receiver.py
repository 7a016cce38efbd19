"""A local HTTP receiver on 127.0.0.1 for webhook tests (records every request)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Status codes to answer with, in order; the last one repeats.
    statuses: list[int] = field(default_factory=lambda: [200])
    extra_headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    server: ThreadingHTTPServer | None = None
    # TCP connections accepted so far.
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def http_receiver(*, keep_alive: bool = True) -> Iterator[Receiver]:
    """keep_alive: answer in HTTP/1.1 and keep the connection for the next request, as real
    receivers do; False: HTTP/1.0, one request per connection."""
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"
        # The handler writes the status line and headers, then the body, in two writes: with
        # Nagle's algorithm on, the body waited for the client's delayed ACK (about 40 ms a
        # response on Linux loopback), which made the receiver, not the sender, the slow part.
        disable_nagle_algorithm = True

        def setup(self) -> None:
            super().setup()
            with state.lock:
                state.connections += 1

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            state.requests.append(
                Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
            )
            if state.delay:
                threading.Event().wait(state.delay)
            index = min(len(state.requests) - 1, len(state.statuses) - 1)
            self.send_response(state.statuses[index])
            for name, value in state.extra_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:
            pass

    class Server(ThreadingHTTPServer):
        # socketserver's default backlog of 5 drops the SYNs of a burst of concurrent
        # connections (clients retry a second later); real receivers accept far more.
        request_queue_size = 128

        def handle_error(self, request, client_address) -> None:
            pass  # a client that timed out and hung up is expected in these tests

    server = Server(("127.0.0.1", 0), Handler)
    state.server = server
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
