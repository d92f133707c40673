"""A real ``python -m http.server`` on 127.0.0.1, in a thread, that counts its requests.

:class:`http.server.SimpleHTTPRequestHandler` ignores ``Range`` (it answers 200 with the whole
file), which is what makes it the first server users try and the one fastzips3 must cope with.
Paths listed in ``statuses`` are answered with that status instead (403, 404, 412...).
"""

from __future__ import annotations

import functools
import http.server
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any


@dataclass(frozen=True)
class Request:
    """One request the server saw."""

    method: str
    path: str
    range: str | None


class LocalHTTPServer:
    """Serve ``directory`` on 127.0.0.1 (an ephemeral port) until the ``with`` block ends."""

    def __init__(self, directory: Path, *, statuses: dict[str, int] | None = None) -> None:
        self.directory = directory
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        answers: dict[str, int] = dict(statuses or {})
        owner = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def _record(self) -> bool:
                with owner._lock:
                    owner.requests.append(
                        Request(self.command, self.path, self.headers.get("Range"))
                    )
                status = answers.get(self.path.split("?")[0])
                if status is None:
                    return False
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return True

            def do_GET(self) -> None:
                if not self._record():
                    super().do_GET()

            def do_HEAD(self) -> None:
                if not self._record():
                    super().do_HEAD()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet

        handler = functools.partial(Handler, directory=str(directory))
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def count(self) -> int:
        """Requests seen so far."""
        with self._lock:
            return len(self.requests)

    def __enter__(self) -> LocalHTTPServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def closed_port() -> int:
    """A loopback port where nothing listens (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
