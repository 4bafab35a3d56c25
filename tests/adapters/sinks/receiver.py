"""A real HTTP receiver on 127.0.0.1 that records what sinks POST and fails on demand."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: Any
    at: float


@dataclass
class Script:
    """What to answer: first the queued replies, then ``status`` (after ``delay`` seconds)."""

    replies: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0


class Receiver:
    """The server; ``url`` is where to POST."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script = Script()
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                raw = self.rfile.read(length)
                with receiver.lock:
                    receiver.received.append(
                        Received(self.path, dict(self.headers), json.loads(raw), time.monotonic())
                    )
                    script = receiver.script
                    status, extra = script.replies.pop(0) if script.replies else (script.status, {})
                    delay = script.delay
                if delay:
                    time.sleep(delay)
                body = b'{"status":"ok"}'
                self.send_response(status)
                for name, value in extra.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = int(self.server.server_address[1])
        self.url = f"http://127.0.0.1:{self.port}/hook/T0KEN"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def answer(self, *replies: tuple[int, dict[str, str]], status: int = 200,
               delay: float = 0.0) -> None:  # fmt: skip
        """Queue replies, then answer ``status`` after ``delay`` seconds."""
        with self.lock:
            self.script = Script(list(replies), status, delay)

    def bodies(self) -> list[Any]:
        """The JSON bodies received so far."""
        with self.lock:
            return [r.body for r in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until ``count`` requests arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        with self.lock:
            return list(self.received)

    def close(self) -> None:
        """Stop serving."""
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A receiver for the duration of a ``with`` block."""
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.close()


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
