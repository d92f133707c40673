"""A request-counting HTTP/1.1 reverse proxy for tests.

:class:`CountingProxy` listens on 127.0.0.1 and forwards every request unchanged to one
upstream server (e.g. :class:`~fastzips3.testing.LocalS3Server`), recording the method,
path, ``Range`` header, status and delivered body bytes of each request.  Tests use it to
assert how many requests -- and how many bytes -- an operation cost.

Request headers, including ``Host``, are forwarded exactly as the client sent them, so AWS
SigV4 signatures made for the proxy URL still verify upstream: point the client at
:attr:`CountingProxy.url`, not at the server.  Request bodies (``Content-Length`` or
``Transfer-Encoding: chunked``, which botocore uses for ``aws-chunked`` uploads) and
response bodies are streamed in chunks, never buffered whole.

Subclasses can change responses by overriding :meth:`CountingProxy.respond`.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import itertools
import logging
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from fastzips3.errors import redact_url

__all__ = [
    "AbortConnection",
    "CountingProxy",
    "ProxyRecord",
    "ProxyRequest",
    "ProxyResponse",
]

logger = logging.getLogger(__name__)

_HOST = "127.0.0.1"
# Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded; ``Expect`` is answered by the
# proxy itself.  ``Transfer-Encoding`` of a request is kept: chunked bodies are relayed
# verbatim, framing included.
_REQUEST_SKIP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"}
    | {"expect"}
)
_RESPONSE_SKIP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}
    | {"transfer-encoding"}
)
# An idle upstream connection older than this is replaced rather than reused, so a
# keep-alive connection the upstream has timed out is never written to.
_UPSTREAM_MAX_IDLE = 5.0
_MAX_LINE = 65536


@dataclass(frozen=True)
class ProxyRecord:
    """One request seen by a :class:`CountingProxy`.

    Attributes:
        method: HTTP method, e.g. ``"GET"``.
        path: Request target as sent (path and query string).
        range_header: Value of the request's ``Range`` header, or None.
        status: Status sent to the client; 0 while the request is still being handled
            or if the connection was dropped before a status was sent.
        bytes_sent: Response body bytes delivered to the client (no headers, no
            chunked-encoding framing).
    """

    method: str
    path: str
    range_header: str | None
    status: int
    bytes_sent: int


@dataclass(frozen=True)
class ProxyRequest:
    """A request received by the proxy, as passed to :meth:`CountingProxy.respond`.

    Attributes:
        index: 0-based arrival number of the request since start or :meth:`~CountingProxy.reset`.
        method: HTTP method.
        path: Request target as sent (path and query string).
        headers: Request headers in the order and spelling the client sent them.
    """

    index: int
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None

    @property
    def range_header(self) -> str | None:
        """The ``Range`` header, or None."""
        return self.header("Range")


@dataclass
class ProxyResponse:
    """A response the proxy sends to the client.

    The body is an iterable of byte chunks, written as they come.  If ``headers`` hold
    ``Content-Length`` the body is sent as is (and the connection is closed if the body
    turns out shorter); otherwise it is sent with chunked encoding.  Raising
    :class:`AbortConnection` from the body iterator drops the connection mid-body.

    Attributes:
        status: HTTP status code.
        reason: Reason phrase.
        headers: Response headers; hop-by-hop headers are dropped when sending.
        body: Body chunks (ignored for HEAD requests and 1xx/204/304 responses).
    """

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: Iterable[bytes] = field(default=())

    def header(self, name: str) -> str | None:
        """Return the first value of header ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


class AbortConnection(Exception):  # noqa: N818 - it is a signal, not an error
    """Raise from :meth:`CountingProxy.respond` or a response body to drop the connection."""


class _ClientGone(Exception):  # noqa: N818
    """The client disconnected or sent a truncated request; nothing more can be sent."""


class _BadRequest(Exception):  # noqa: N818
    """The request body framing is invalid."""


class _Entry:
    """Mutable bookkeeping behind one :class:`ProxyRecord` (guarded by the proxy lock)."""

    __slots__ = ("bytes_sent", "method", "path", "range_header", "status")

    def __init__(self, method: str, path: str, range_header: str | None) -> None:
        self.method = method
        self.path = path
        self.range_header = range_header
        self.status = 0
        self.bytes_sent = 0

    def freeze(self) -> ProxyRecord:
        return ProxyRecord(self.method, self.path, self.range_header, self.status, self.bytes_sent)


class _RequestBody:
    """Reads a request body off the client connection in wire format, chunk by chunk."""

    def __init__(self, rfile: io.BufferedIOBase, headers: Message, chunk_size: int) -> None:
        self._rfile = rfile
        self._chunk_size = chunk_size
        encoding = headers.get("Transfer-Encoding")
        self.chunked = encoding is not None and "chunked" in encoding.lower()
        length = headers.get("Content-Length")
        self._remaining = 0
        if not self.chunked and length is not None:
            try:
                self._remaining = int(length)
            except ValueError:
                raise _BadRequest(f"invalid Content-Length {length!r}") from None
            if self._remaining < 0:
                raise _BadRequest(f"invalid Content-Length {length!r}")
        self.started = False
        self.done = not (self.chunked or self._remaining)

    def __iter__(self) -> Iterator[bytes]:
        """Yield the body as received (chunked framing included); once only."""
        if self.done:
            return
        self.started = True
        if self.chunked:
            yield from self._iter_chunked()
        else:
            while self._remaining:
                piece = self._read(min(self._remaining, self._chunk_size))
                self._remaining -= len(piece)
                yield piece
        self.done = True

    def drain(self) -> None:
        """Read and discard whatever of the body has not been read."""
        for _ in self:
            pass

    def _iter_chunked(self) -> Iterator[bytes]:
        while True:
            line = self._readline()
            yield line
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(f"invalid chunk size line {line[:80]!r}") from None
            if size == 0:
                while True:  # trailer section, ended by an empty line
                    trailer = self._readline()
                    yield trailer
                    if trailer in (b"\r\n", b"\n"):
                        return
            left = size + 2  # chunk data and its CRLF
            while left:
                piece = self._read(min(left, self._chunk_size))
                left -= len(piece)
                yield piece

    def _read(self, size: int) -> bytes:
        try:
            data = self._rfile.read(size)
        except OSError as error:
            raise _ClientGone(f"reading request body: {error}") from error
        if not data:
            raise _ClientGone("client closed the connection in the request body")
        return data

    def _readline(self) -> bytes:
        try:
            line = self._rfile.readline(_MAX_LINE + 1)
        except OSError as error:
            raise _ClientGone(f"reading request body: {error}") from error
        if not line.endswith(b"\n"):
            if len(line) > _MAX_LINE:
                raise _BadRequest("chunk size line too long")
            raise _ClientGone("client closed the connection in the request body")
        return line


def _connection_tokens(headers: Iterable[tuple[str, str]]) -> set[str]:
    """Header names listed in ``Connection`` headers (also hop-by-hop)."""
    tokens: set[str] = set()
    for key, value in headers:
        if key.lower() == "connection":
            tokens.update(token.strip().lower() for token in value.split(",") if token.strip())
    return tokens


def _plain_response(status: int, reason: str, text: str) -> ProxyResponse:
    body = text.encode("utf-8", "replace")
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    return ProxyResponse(status, reason, headers, [body])


class _Handler(BaseHTTPRequestHandler):
    """Handles one client connection (possibly several keep-alive requests)."""

    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.proxy.timeout)
        # Headers and body go out in separate sends: without TCP_NODELAY, Nagle's algorithm
        # and the client's delayed ACK hold the body back about 40 ms per response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._upstream: http.client.HTTPConnection | None = None
        self._upstream_idle_since = 0.0
        self._open_responses: list[http.client.HTTPResponse] = []
        self.server.track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        finally:
            self._close_upstream()
            self.server.untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("proxy %s: %s", self.address_string(), redact_url(format % args))

    def address_string(self) -> str:
        return f"{self.client_address[0]}:{self.client_address[1]}"

    # Every method goes through the same forwarding code.
    def do_GET(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        self._handle()

    def _handle(self) -> None:
        proxy = self.server.proxy
        headers = tuple(self.headers.items())
        request = ProxyRequest(proxy._next_index(), self.command, self.path, headers)
        entry = proxy._begin(request)
        logger.debug("proxy %s: %s %s", self.address_string(), self.command, redact_url(self.path))
        try:
            try:
                body = _RequestBody(self.rfile, self.headers, proxy.chunk_size)
            except _BadRequest as error:
                self.close_connection = True
                self._send(request, _plain_response(400, "Bad Request", str(error)), entry)
                return
            try:
                response = proxy.respond(request, lambda: self._forward(request, body))
                if not body.done:  # respond() answered without forwarding
                    body.drain()
            except _BadRequest as error:
                self.close_connection = True
                response = _plain_response(400, "Bad Request", str(error))
            except (_ClientGone, AbortConnection):
                raise
            except Exception as error:
                logger.exception("proxy: %s %s failed", self.command, self.path)
                self.close_connection = True
                response = _plain_response(502, "Bad Gateway", f"proxy error: {error!r}")
            self._send(request, response, entry)
        except AbortConnection:
            logger.debug(
                "proxy: dropping connection for %s %s", self.command, redact_url(self.path)
            )
            self.close_connection = True
            self._abort()
        except _ClientGone as error:
            logger.debug(
                "proxy: client gone during %s %s: %s", self.command, redact_url(self.path), error
            )
            self.close_connection = True
        finally:
            proxy._end()
            responses, self._open_responses = self._open_responses, []
            for upstream_response in responses:
                if not upstream_response.isclosed():
                    # Not read to the end: the upstream connection cannot be reused.
                    upstream_response.close()
                    self._close_upstream()
            if self._upstream is not None:
                self._upstream_idle_since = time.monotonic()

    # -- upstream side -----------------------------------------------------------------

    def _upstream_connection(self) -> tuple[http.client.HTTPConnection, bool]:
        proxy = self.server.proxy
        if (
            self._upstream is not None
            and time.monotonic() - self._upstream_idle_since > _UPSTREAM_MAX_IDLE
        ):
            self._close_upstream()
        if self._upstream is None or self._upstream.sock is None:
            self._close_upstream()
            self._upstream = http.client.HTTPConnection(
                proxy.upstream_host, proxy.upstream_port, timeout=proxy.timeout
            )
            return self._upstream, False
        return self._upstream, True

    def _close_upstream(self) -> None:
        upstream, self._upstream = self._upstream, None
        if upstream is not None:
            upstream.close()

    def _forward(self, request: ProxyRequest, body: _RequestBody) -> ProxyResponse:
        """Send ``request`` upstream and return its response, body streamed lazily."""
        proxy = self.server.proxy
        hop_by_hop = _REQUEST_SKIP | _connection_tokens(request.headers)
        headers = [(k, v) for k, v in request.headers if k.lower() not in hop_by_hop]
        if request.header("Host") is None:
            headers.append(("Host", proxy.upstream_netloc))
        for attempt in itertools.count():
            upstream, reused = self._upstream_connection()
            try:
                upstream.putrequest(
                    request.method, request.path, skip_host=True, skip_accept_encoding=True
                )
                for key, value in headers:
                    upstream.putheader(key, value)
                upstream.endheaders()
                for piece in body:
                    upstream.send(piece)
                upstream_response = upstream.getresponse()
            except (_ClientGone, _BadRequest):
                self._close_upstream()
                raise
            except (OSError, http.client.HTTPException) as error:
                self._close_upstream()
                if reused and attempt == 0 and not body.started:
                    logger.debug("proxy: stale upstream connection (%r), retrying", error)
                    continue
                logger.debug(
                    "proxy: upstream failed for %s %s: %r", request.method, request.path, error
                )
                return _plain_response(502, "Bad Gateway", f"upstream error: {error!r}")
            break
        self._open_responses.append(upstream_response)
        return ProxyResponse(
            upstream_response.status,
            upstream_response.reason,
            upstream_response.getheaders(),
            self._iter_upstream_body(upstream_response),
        )

    def _iter_upstream_body(self, upstream_response: http.client.HTTPResponse) -> Iterator[bytes]:
        chunk_size = self.server.proxy.chunk_size
        while True:
            try:
                chunk = upstream_response.read1(chunk_size)
            except (OSError, http.client.HTTPException) as error:
                logger.debug("proxy: upstream body failed: %r", error)
                raise AbortConnection from error
            if not chunk:
                return
            yield chunk

    # -- client side -------------------------------------------------------------------

    def _send(self, request: ProxyRequest, response: ProxyResponse, entry: _Entry) -> None:
        proxy = self.server.proxy
        hop_by_hop = _RESPONSE_SKIP | _connection_tokens(response.headers)
        headers = [(k, v) for k, v in response.headers if k.lower() not in hop_by_hop]
        status = response.status
        body_allowed = request.method != "HEAD" and not (
            100 <= status < 200 or status in (204, 304)
        )
        length_text = response.header("Content-Length")
        content_length: int | None = None
        if length_text is not None:
            try:
                content_length = int(length_text)
            except ValueError:
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
        chunked = False
        if body_allowed and content_length is None:
            if self.request_version == "HTTP/1.1":
                chunked = True
                headers.append(("Transfer-Encoding", "chunked"))
            else:
                self.close_connection = True
        proxy._set_status(entry, status)
        try:
            self.send_response_only(status, response.reason)
            for key, value in headers:
                self.send_header(key, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
        except OSError as error:
            raise _ClientGone(f"writing response headers: {error}") from error
        sent = 0
        for chunk in response.body:
            if not body_allowed or not chunk:
                continue
            if content_length is not None:
                chunk = chunk[: content_length - sent]
                if not chunk:
                    continue
            proxy._add_bytes(entry, len(chunk))
            try:
                if chunked:
                    self.wfile.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
            except OSError as error:
                proxy._add_bytes(entry, -len(chunk))
                raise _ClientGone(f"writing response body: {error}") from error
            sent += len(chunk)
        if chunked:
            try:
                self.wfile.write(b"0\r\n\r\n")
            except OSError as error:
                raise _ClientGone(f"writing response body: {error}") from error
        elif body_allowed and content_length is not None and sent < content_length:
            logger.debug("proxy: body short by %d bytes, closing", content_length - sent)
            self.close_connection = True

    def _abort(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of parallel connects must not hit SYN retries
    block_on_close = False  # stop() shuts connections down and joins with a time limit

    def __init__(self, proxy: CountingProxy) -> None:
        self.proxy = proxy
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._connections_lock = threading.Lock()
        super().__init__((_HOST, 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (socket.getfqdn); skip that.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections[connection] = threading.current_thread()

    def untrack(self, connection: socket.socket) -> None:
        with self._connections_lock:
            self._connections.pop(connection, None)

    def close_connections(self, timeout: float) -> None:
        """Shut down every client connection, then wait (bounded) for handler threads."""
        with self._connections_lock:
            connections = list(self._connections.items())
        for connection, _thread in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + timeout
        for _connection, thread in connections:
            thread.join(max(0.0, deadline - time.monotonic()))

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, (OSError, _ClientGone)):
            logger.debug("proxy: connection from %s ended: %r", client_address, error)
        else:
            logger.error("proxy: error handling %s", client_address, exc_info=True)


class CountingProxy:
    """An HTTP/1.1 reverse proxy on 127.0.0.1 that records every request.

    Usage::

        with CountingProxy(server.endpoint_url) as proxy:
            client = server.client(endpoint_url=proxy.url)
            client.get_object(Bucket="test", Key="k", Range="bytes=-10")["Body"].read()
            assert proxy.count("GET") == 1

    A request is recorded as soon as its headers arrive; its status and byte count are
    filled in before the corresponding bytes reach the client, so once a client has seen
    a response end, :attr:`records` reflects it.

    Args:
        upstream: Base URL of the upstream server, ``http://host:port``.
        chunk_size: Largest piece of a body read or written at once.
        timeout: Socket timeout (seconds) for the client side, including idle keep-alive
            connections, and for the upstream side.
    """

    def __init__(
        self, upstream: str, *, chunk_size: int = 256 * 1024, timeout: float = 60.0
    ) -> None:
        parts = urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"upstream must be an http://host:port URL, not {upstream!r}")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"upstream must not have a path or query: {upstream!r}")
        self.upstream_host: str = parts.hostname
        self.upstream_port: int = parts.port or 80
        self.upstream_netloc: str = parts.netloc
        self.chunk_size = chunk_size
        self.timeout = timeout
        self._lock = threading.Lock()
        self._entries: list[_Entry] = []
        self._index = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> CountingProxy:
        """Start the proxy (if it is not running yet) and return it."""
        if self._server is None:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the proxy."""
        self.stop()

    def start(self) -> None:
        """Bind a free loopback port and serve in a background thread."""
        if self._server is not None:
            raise RuntimeError("proxy already started")
        server = _Server(self)
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"CountingProxy:{server.server_port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving, close client connections and wait (bounded) for handlers.

        Safe to call more than once.  Records are kept.
        """
        server, self._server = self._server, None
        thread, self._thread = self._thread, None
        if server is None:
            return
        server.shutdown()
        if thread is not None:
            thread.join(timeout)
        server.close_connections(timeout)
        server.server_close()

    @property
    def url(self) -> str:
        """Base URL to send requests to, ``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError("proxy not started")
        return f"http://{_HOST}:{self._server.server_port}"

    # -- records -----------------------------------------------------------------------

    @property
    def records(self) -> list[ProxyRecord]:
        """A copy of the records so far, in arrival order."""
        with self._lock:
            return [entry.freeze() for entry in self._entries]

    def reset(self) -> None:
        """Forget all records, restart request numbering at 0 and :attr:`max_in_flight` at
        the requests in flight now."""
        with self._lock:
            self._entries = []
            self._index = 0
            self._max_in_flight = self._in_flight

    @property
    def in_flight(self) -> int:
        """Requests being handled now: headers received, response not yet fully sent."""
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests in flight at once since start or :meth:`reset`.

        A request is in flight from the arrival of its headers until its response has been
        sent (or its connection dropped), so this counts concurrency at the server, outside
        the client: the proof that a client kept N requests going at once.
        """
        with self._lock:
            return self._max_in_flight

    def count(self, method: str | None = None) -> int:
        """Number of requests recorded, optionally only those with ``method``."""
        with self._lock:
            if method is None:
                return len(self._entries)
            wanted = method.upper()
            return sum(1 for entry in self._entries if entry.method == wanted)

    def bytes_sent(self) -> int:
        """Total response body bytes delivered to clients."""
        with self._lock:
            return sum(entry.bytes_sent for entry in self._entries)

    # -- extension point ---------------------------------------------------------------

    def respond(self, request: ProxyRequest, forward: Callable[[], ProxyResponse]) -> ProxyResponse:
        """Produce the response to ``request``; called once per request, in its thread.

        The default forwards the request upstream.  Subclasses may return a response of
        their own without calling ``forward`` (the request body is then discarded), call
        ``forward`` and return a changed response (status, headers, or a body iterator
        that wraps ``response.body``), sleep, or raise :class:`AbortConnection` to drop
        the connection.  ``forward`` may be called at most once.
        """
        return forward()

    # -- bookkeeping used by the handler -----------------------------------------------

    def _next_index(self) -> int:
        with self._lock:
            index = self._index
            self._index += 1
            return index

    def _begin(self, request: ProxyRequest) -> _Entry:
        entry = _Entry(request.method, request.path, request.range_header)
        with self._lock:
            self._entries.append(entry)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        return entry

    def _end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def _set_status(self, entry: _Entry, status: int) -> None:
        with self._lock:
            entry.status = status

    def _add_bytes(self, entry: _Entry, count: int) -> None:
        with self._lock:
            entry.bytes_sent += count

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"<CountingProxy {where} -> {self.upstream_netloc}>"
