"""A local stand-in for demucs' download host: files over real HTTP on 127.0.0.1.

It honours `Range: bytes=N-` (206 with Content-Range, 416 past the end) unless
told not to, can cut the connection after some bytes of a file (the headers
promise the whole file, then the socket closes), and records every request.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Served:
    files: dict[str, bytes] = field(default_factory=dict)  # URL path -> bytes
    ranges: bool = True
    # URL path -> (bytes sent before the cut, how many more requests to cut)
    cuts: dict[str, list[int]] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    # Seconds to pause after each 8 KB (a slow link, to interrupt mid-file).
    trickle: float = 0.0
    url: str = ""

    def cut(self, path: str, *, after: int, times: int = 1) -> None:
        self.cuts[path] = [after, times]

    def requested(self, path: str) -> list[str | None]:
        """The Range header of each request for `path` (None: none sent)."""
        return [rng for p, rng in self.requests if p == path]


def _handler(served: Served) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            rng = self.headers.get("Range")
            served.requests.append((self.path, rng))
            data = served.files.get(self.path)
            if data is None:
                self.send_error(404)
                return
            start = 0
            match = re.fullmatch(r"bytes=(\d+)-", rng or "")
            if served.ranges and match:
                start = int(match.group(1))
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(data)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header(
                    "Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}"
                )
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Accept-Ranges", "bytes" if served.ranges else "none")
            self.end_headers()
            cut = served.cuts.get(self.path)
            if cut and cut[1] > 0:
                cut[1] -= 1
                self.wfile.write(body[: cut[0]])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if not served.trickle:
                self.wfile.write(body)
                return
            try:
                for offset in range(0, len(body), 8192):
                    self.wfile.write(body[offset : offset + 8192])
                    self.wfile.flush()
                    time.sleep(served.trickle)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client went away mid-file

    return Handler


@contextmanager
def weights_server() -> Iterator[Served]:
    """Serve `Served.files` at `Served.url` until the block ends."""
    served = Served()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    served.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()
