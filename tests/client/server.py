"""A small real HTTP server on 127.0.0.1 that answers as a test scripts it.

Each request is handed to the test's `answer(request)` function, which returns
a Reply (or DROP: close the connection without answering, after reading the
whole request). Every request is recorded.
"""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Send only this many bytes of the body, then close (a cut connection).
    cut_after: int | None = None

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        self.headers.setdefault("Content-Type", "application/json")
        return json.dumps(self.body).encode()


DROP = Reply(status=0)


def error(status: int, code: str, detail: str = "Refused.", **headers: str) -> Reply:
    return Reply(status, {"detail": detail, "code": code}, dict(headers))


@dataclass
class ScriptedServer:
    url: str
    requests: list[Request]


@contextmanager
def scripted_server(answer: Callable[[Request], Reply]) -> Iterator[ScriptedServer]:
    requests: list[Request] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                self.command,
                self.path,
                {k.lower(): v for k, v in self.headers.items()},
                body,
            )
            requests.append(request)
            reply = answer(request)
            if reply.status == 0:
                self.close_connection = True
                return
            payload = reply.payload()
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if reply.cut_after is not None:
                self.wfile.write(payload[: reply.cut_after])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

        do_GET = do_POST = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield ScriptedServer(f"http://127.0.0.1:{server.server_port}", requests)
    finally:
        server.shutdown()
        server.server_close()
