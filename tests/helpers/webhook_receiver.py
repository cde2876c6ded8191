"""A real HTTP receiver on 127.0.0.1 for webhook tests: it records what it is
sent, answers from a script, and can hold a request open until released."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks import Webhook


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def verified(self, secret: str) -> Any:
        """The JSON body, once its signature checks out with `secret`."""
        return Webhook(secret).verify(self.body, self.headers)


@dataclass
class Receiver:
    """`answers`: status codes to give in turn (the last one repeats);
    `headers`: extra response headers per status; `hold`: while set, requests
    wait on `released` before answering."""

    answers: list[int] = field(default_factory=lambda: [200])
    headers: dict[int, dict[str, str]] = field(default_factory=dict)
    redirect_to: str = ""
    hold: bool = False
    released: threading.Event = field(default_factory=threading.Event)
    arrived: threading.Event = field(default_factory=threading.Event)
    received: list[Received] = field(default_factory=list)
    url: str = ""

    def answer(self) -> int:
        index = min(len(self.received) - 1, len(self.answers) - 1)
        return self.answers[index]


def _handler(state: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's name
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            state.received.append(
                Received(
                    self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
            )
            state.arrived.set()
            if state.hold:
                state.released.wait(timeout=120)
            if state.redirect_to:
                self.send_response(307)
                self.send_header("Location", state.redirect_to)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            status = state.answer()
            payload = b'{"ok": true}' if status < 300 else b'{"error": "scripted"}'
            self.send_response(status)
            for name, value in state.headers.get(status, {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def receiving(host: str = "127.0.0.1", **options: Any) -> Iterator[Receiver]:
    """A Receiver listening on `host`, for the length of the block."""
    state = Receiver(**options)
    server = ThreadingHTTPServer((host, 0), _handler(state))
    server.daemon_threads = True
    state.url = f"http://{host}:{server.server_address[1]}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.released.set()
        server.shutdown()
        server.server_close()
