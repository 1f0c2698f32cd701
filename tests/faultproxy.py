"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the S3 server, for fault tests.

Every ``throttle_every``-th request gets a 503 SlowDown, every ``drop_every``-th has its
connection closed without a response, and after ``fail_after`` requests every request
gets a 500 until ``heal()`` is called. With ``random_share``, that share of requests (drawn
from ``seed``) gets one of: 503 SlowDown, 500, a closed connection, a reset connection, or
its real answer only after ``slow_seconds`` (past the client's read timeout: the request
did reach S3, the client retries it). With ``fail_gets_of``, every GET whose path holds that
text gets a 500 until ``heal()`` (one object the store cannot serve). Real HTTP, real
botocore retry behaviour.
"""

from __future__ import annotations

import http.client
import random
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)
INTERNAL = b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>InternalError</Code><Message>boom</Message></Error>'


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Dropped connections are the point of this proxy: no tracebacks on stderr."""


class FaultProxy:
    def __init__(
        self,
        upstream: str,
        throttle_every: int = 0,
        drop_every: int = 0,
        fail_after: int = 0,
        fail_after_path: str = "",
        random_share: float = 0.0,
        seed: int = 0,
        slow_seconds: float = 0.0,
        latency: float = 0.0,
        fail_gets_of: str = "",
    ) -> None:
        """``fail_after_path``: once a PUT whose path contains this has been passed on, every
        later request fails (a store that goes down right after, say, an intent is written).
        ``latency``: seconds every answer is held back (a remote store's round trip)."""
        self.latency = latency
        self.fail_after_path = fail_after_path
        self.fail_gets_of = fail_gets_of
        self.random_share = random_share
        self.slow_seconds = slow_seconds
        self._random = random.Random(seed)
        self.by_kind: dict[str, int] = {}
        self.upstream = urlsplit(upstream)
        self.throttle_every = throttle_every
        self.drop_every = drop_every
        self.fail_after = fail_after
        self.requests = 0
        self.faults = 0
        self.in_flight = 0
        self.most_in_flight = 0  # the most requests the proxy held at one time
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle's algorithm on, the body
            # waited for the client's delayed ACK (~40 ms on Linux), and every answer with a
            # body cost that, latency or not.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                return

            def _read_body(self) -> bytes:
                if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                    chunks: list[bytes] = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass  # trailers
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _handle(self) -> None:
                with proxy._lock:
                    proxy.in_flight += 1
                    proxy.most_in_flight = max(proxy.most_in_flight, proxy.in_flight)
                try:
                    self._forward()
                finally:
                    with proxy._lock:
                        proxy.in_flight -= 1

            def _forward(self) -> None:
                body = self._read_body()
                with proxy._lock:
                    proxy.requests += 1
                    number = proxy.requests
                fault = proxy._fault(number)
                if proxy.fail_gets_of and self.command == "GET" and proxy.fail_gets_of in self.path:
                    fault = "fail"
                if fault:
                    with proxy._lock:
                        proxy.by_kind[fault] = proxy.by_kind.get(fault, 0) + 1
                if fault in ("drop", "reset"):
                    proxy.faults += 1
                    self.close_connection = True
                    if fault == "reset":  # RST instead of FIN: "connection reset by peer"
                        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                    return
                if fault == "slow":
                    proxy.faults += 1
                if fault in ("throttle", "fail"):
                    proxy.faults += 1
                    payload = SLOW_DOWN if fault == "throttle" else INTERNAL
                    self.send_response(503 if fault == "throttle" else 500)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                conn = http.client.HTTPConnection(str(proxy.upstream.hostname), proxy.upstream.port, timeout=30)
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("connection", "host", "transfer-encoding", "content-length")
                }
                headers["Host"] = proxy.upstream.netloc
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                if proxy.latency:
                    time.sleep(proxy.latency)
                if fault == "slow":
                    time.sleep(proxy.slow_seconds)  # the write happened; the answer comes too late
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                # HEAD answers carry the object's length, not the (empty) body's.
                length = response.getheader("Content-Length") if self.command == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()
                if proxy.fail_after_path and self.command == "PUT" and proxy.fail_after_path in self.path:
                    with proxy._lock:
                        proxy.fail_after = proxy.fail_after or number

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _fault(self, number: int) -> str | None:
        if self.fail_after and number > self.fail_after:
            return "fail"
        if self.random_share:
            with self._lock:
                hit = self._random.random() < self.random_share
                kind = self._random.choice(["throttle", "fail", "drop", "reset", "slow"])
            if hit:
                return kind if kind != "slow" or self.slow_seconds else "throttle"
        if self.throttle_every and number % self.throttle_every == 0:
            return "throttle"
        if self.drop_every and number % self.drop_every == 0:
            return "drop"
        return None

    def heal(self) -> None:
        self.fail_after = 0
        self.fail_after_path = ""
        self.fail_gets_of = ""
        self.throttle_every = 0
        self.drop_every = 0
        self.random_share = 0.0

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
