"""A fault-injecting reverse proxy on loopback, for resilience tests of ranged-GET clients.

:class:`FaultProxy` is a :class:`~fastzips3.testing.proxy.CountingProxy` (so it records every
request and the body bytes it delivered) that breaks chosen requests the way networks and
object stores do.  Each :class:`Fault` names a kind of failure and which requests it hits:

``"reset"``
    Send ``after_bytes`` bytes of the body, then abort the TCP connection with a reset
    (``SO_LINGER`` 0, so the client gets ``ECONNRESET`` rather than an end of file).
``"truncate"``
    Send the headers with the original ``Content-Length`` and ``after_bytes`` bytes of the
    body, then close the connection cleanly (FIN): the client sees a short body.
``"stall"``
    Send ``after_bytes`` bytes of the body, then nothing for ``stall_seconds``, then close.
``"slow"``
    Send ``after_bytes`` bytes of the body, then drip the rest at ``rate`` bytes per second;
    close once ``stall_seconds`` have passed (a slow loris).  A body that ends sooner is
    delivered whole.
``"status"``
    Answer without forwarding: ``status`` with an S3-style XML error body, e.g. 503
    ``SlowDown``, 500 ``InternalError``.
``"ignore_range"``
    Forward the request without its ``Range`` header and return the upstream's answer, a
    ``200`` with the whole object, as a server that ignores ranges would.
``"replace"``
    Call ``replace_with()`` (e.g. to overwrite the object on the server, so its ETag
    changes between a client's requests), then forward the request unchanged.

For ``"reset"``, ``"truncate"``, ``"stall"`` and ``"slow"``, the fault acts once
``after_bytes`` bytes were sent or the body ended, whichever comes first.  A negative
``after_bytes`` makes ``"reset"``, ``"truncate"`` and ``"stall"`` act before the response
headers (the request is then not forwarded): the client sees a reset, a closed connection, or
no answer at all.

Usage::

    faults = [Fault("reset", nth=1, after_bytes=1000), Fault("status", nth=2, status=503)]
    with LocalS3Server() as server, FaultProxy(server.endpoint_url, faults) as proxy:
        ...  # GETs through proxy.url; GET #1 is reset after 1000 body bytes, GET #2 gets 503
        assert proxy.fault_log == [(1, "reset"), (2, "status")]

Every wait is bounded and :meth:`FaultProxy.stop` interrupts stalls and drips at once.
Client connections get ``TCP_NODELAY`` so that small writes (headers, drips) leave at once.

``"ignore_range"`` changes the request, so a request signed with AWS SigV4 (which covers
the ``Range`` header) no longer verifies upstream -- unless the proxy is given the
credentials to sign it again (``credentials=``); anonymous requests need none.
"""

from __future__ import annotations

import contextlib
import http
import http.client
import itertools
import select
import socket
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, get_args
from xml.sax.saxutils import escape

from fastzips3.testing.proxy import AbortConnection, CountingProxy, ProxyRequest, ProxyResponse

__all__ = ["Fault", "FaultEvent", "FaultKind", "FaultProxy", "SigningCredentials"]

FaultKind = Literal["reset", "status", "truncate", "stall", "slow", "ignore_range", "replace"]

_KINDS: frozenset[str] = frozenset(get_args(FaultKind))
_BEFORE_HEADERS_KINDS = frozenset({"reset", "truncate", "stall"})

# S3 error codes and messages by status, for kind="status".
_S3_ERRORS: dict[int, tuple[str, str]] = {
    400: ("InvalidRequest", "Invalid Request"),
    403: ("AccessDenied", "Access Denied"),
    404: ("NoSuchKey", "The specified key does not exist."),
    412: ("PreconditionFailed", "At least one of the pre-conditions you specified did not hold"),
    416: ("InvalidRange", "The requested range is not satisfiable"),
    429: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    501: ("NotImplemented", "A header you provided implies functionality that is not implemented"),
    503: ("SlowDown", "Please reduce your request rate."),
}
_REASONS = {503: "Slow Down"}

# Request headers never forwarded by the ignore_range upstream request (hop-by-hop ones,
# ``Expect``, and the ``Range`` itself).
_IGNORE_RANGE_SKIP = frozenset(
    {"connection", "keep-alive", "proxy-connection", "proxy-authorization", "te", "upgrade"}
    | {"expect", "range", "content-length", "transfer-encoding"}
)
# How often a stall checks whether the client went away.
_POLL_INTERVAL = 0.05
# Longest wait for the client to acknowledge what was sent before a reset.
_MAX_RESET_DRAIN = 5.0
# Drips per second of kind="slow".
_DRIPS_PER_SECOND = 20


@dataclass(frozen=True)
class Fault:
    """One kind of failure and the requests it hits.

    A request matches when its method is ``method`` (any if None), its 0-based index among
    the requests of that method since the proxy's last :meth:`~FaultProxy.reset` is ``nth``
    (any if None), and the fault has fired fewer than ``times`` times since it was installed
    (unlimited if None).  When several faults match a request, the first one fires.

    Attributes:
        kind: What goes wrong; see the module docstring.
        nth: Index of the request to hit among the requests of ``method``, or None.
        times: Fire at most this many times in all, or None for no limit.
        after_bytes: For reset/truncate/stall/slow: response body bytes sent before the
            fault acts.  Negative: act before the response headers (not for slow).
        status: For "status": the status code, 400-599.  503 and 429 come with S3 error
            code ``SlowDown``, 500 with ``InternalError``.
        stall_seconds: For "stall": how long nothing is sent before the connection is
            closed; for "slow": how long the drip lasts before the connection is closed.
        rate: For "slow": bytes per second of the drip.
        replace_with: For "replace": called (in the proxy's thread) before the request is
            forwarded.  If it raises, the client gets a 502.
        method: HTTP method of the requests to hit (case-insensitive), or None for all.
    """

    kind: FaultKind
    nth: int | None = None
    times: int | None = 1
    after_bytes: int = 0
    status: int = 503
    stall_seconds: float = 30.0
    rate: int = 16_384
    replace_with: Callable[[], None] | None = None
    method: str | None = "GET"

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(_KINDS)}")
        if self.nth is not None and self.nth < 0:
            raise ValueError(f"nth must be >= 0 or None, not {self.nth!r}")
        if self.times is not None and self.times < 1:
            raise ValueError(f"times must be >= 1 or None, not {self.times!r}")
        if self.after_bytes < 0 and self.kind not in _BEFORE_HEADERS_KINDS:
            raise ValueError(f"after_bytes must be >= 0 for kind {self.kind!r}")
        if not 400 <= self.status <= 599:
            raise ValueError(f"status must be an error status 400-599, not {self.status!r}")
        if self.stall_seconds < 0:
            raise ValueError(f"stall_seconds must be >= 0, not {self.stall_seconds!r}")
        if self.rate <= 0:
            raise ValueError(f"rate must be positive, not {self.rate!r}")
        if self.kind == "replace" and self.replace_with is None:
            raise ValueError('kind="replace" needs replace_with')
        if self.method is not None:
            object.__setattr__(self, "method", self.method.upper())

    def matches(self, method: str, index: int) -> bool:
        """Whether a request with ``method`` and per-method ``index`` is one to hit.

        ``times`` is not considered here; the proxy counts firings.
        """
        if self.method is not None and method.upper() != self.method:
            return False
        return self.nth is None or index == self.nth


class FaultEvent(NamedTuple):
    """A fault that fired: the request's index (as in ``ProxyRequest.index``) and kind."""

    request_index: int
    kind: FaultKind


class SigningCredentials(NamedTuple):
    """AWS credentials :class:`FaultProxy` uses to sign ``"ignore_range"`` requests again."""

    access_key: str
    secret_key: str
    region: str


class _Armed:
    """A fault and how often it has fired (guarded by the proxy's fault lock)."""

    __slots__ = ("fault", "fired")

    def __init__(self, fault: Fault) -> None:
        self.fault = fault
        self.fired = 0


class _Connection:
    """What the fault code needs of the client connection served by the current thread."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler
        self.upstreams: list[http.client.HTTPConnection] = []

    @property
    def sock(self) -> socket.socket:
        sock: socket.socket = self.handler.connection
        return sock

    def close_upstreams(self) -> None:
        upstreams, self.upstreams = self.upstreams, []
        for upstream in upstreams:
            upstream.close()


def _fault_handler(base: Any) -> Any:
    """A subclass of the proxy's handler class that exposes its connection to the proxy."""
    if getattr(base, "_fault_handler", False):
        return base
    assert isinstance(base, type)

    class FaultHandler(base):  # type: ignore[misc]
        _fault_handler = True

        def setup(self) -> None:
            super().setup()
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.server.proxy._fault_local.connection = _Connection(self)

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                local = self.server.proxy._fault_local
                connection: _Connection | None = getattr(local, "connection", None)
                local.connection = None
                if connection is not None:
                    connection.close_upstreams()

    return FaultHandler


def _error_body(code: str, message: str, resource: str, request_id: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<Resource>{escape(resource)}</Resource><RequestId>{request_id}</RequestId></Error>"
    ).encode()


def _status_response(request: ProxyRequest, status: int) -> ProxyResponse:
    """An S3-style error response with status ``status``."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    code, message = _S3_ERRORS.get(status, (phrase.replace(" ", "").replace("-", ""), phrase))
    request_id = uuid.uuid4().hex[:16].upper()
    resource = request.path.split("?", 1)[0]
    body = _error_body(code, message, resource, request_id)
    headers = [
        ("Content-Type", "application/xml"),
        ("Content-Length", str(len(body))),
        ("x-amz-request-id", request_id),
    ]
    return ProxyResponse(status, _REASONS.get(status, phrase), headers, [body])


class FaultProxy(CountingProxy):
    """A :class:`CountingProxy` that injects :class:`Fault` s into chosen requests.

    Args:
        upstream: Base URL of the upstream server, ``http://host:port``.
        faults: The faults to install (see :meth:`set_faults`).
        credentials: Used only by ``"ignore_range"`` faults on SigV4-signed requests: the
            request without its ``Range`` is signed again with these.  Without them such a
            request is forwarded with its old, now invalid, signature (fine for anonymous
            requests).
        chunk_size: Largest piece of a body read or written at once.
        timeout: Socket timeout in seconds, both sides.

    Thread-safe: faults may be changed while requests are in flight; a request decides
    which fault (if any) hits it when it arrives.
    """

    def __init__(
        self,
        upstream: str,
        faults: Sequence[Fault] = (),
        *,
        credentials: SigningCredentials | tuple[str, str, str] | None = None,
        chunk_size: int = 256 * 1024,
        timeout: float = 60.0,
    ) -> None:
        super().__init__(upstream, chunk_size=chunk_size, timeout=timeout)
        self.credentials = None if credentials is None else SigningCredentials(*credentials)
        self._fault_lock = threading.Lock()
        self._armed: list[_Armed] = []
        self._method_counts: dict[str, int] = {}
        self._log: list[FaultEvent] = []
        self._fault_local = threading.local()
        self._stopping = threading.Event()
        self.set_faults(faults)

    # -- configuration -----------------------------------------------------------------

    def set_faults(self, faults: Sequence[Fault]) -> None:
        """Replace the installed faults; each starts with no firings.

        Request numbering (``nth``) and :attr:`fault_log` are not touched; :meth:`reset`
        restarts them.
        """
        armed = [_Armed(fault) for fault in faults]
        for item in armed:
            if not isinstance(item.fault, Fault):
                raise TypeError(f"expected a Fault, not {item.fault!r}")
        with self._fault_lock:
            self._armed = armed

    @property
    def faults(self) -> list[Fault]:
        """The installed faults, including those that have fired ``times`` times."""
        with self._fault_lock:
            return [item.fault for item in self._armed]

    @property
    def fault_log(self) -> list[FaultEvent]:
        """A copy of the faults fired since start or :meth:`reset`, in firing order."""
        with self._fault_lock:
            return list(self._log)

    def reset(self) -> None:
        """Forget records and the fault log; restart request numbering (and ``nth``) at 0.

        The installed faults stay, with their firing counts (``times`` counts in all).
        """
        with self._fault_lock:
            super().reset()
            self._method_counts = {}
            self._log = []

    # -- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> FaultProxy:
        """Start the proxy (if it is not running yet) and return it."""
        super().__enter__()
        return self

    def start(self) -> None:
        """Bind a free loopback port and serve in a background thread."""
        self._stopping = threading.Event()
        super().start()
        server = self._server
        if server is not None:
            server.RequestHandlerClass = _fault_handler(server.RequestHandlerClass)

    def stop(self, timeout: float = 5.0) -> None:
        """Interrupt stalls and drips, then stop as :meth:`CountingProxy.stop` does."""
        self._stopping.set()
        super().stop(timeout)

    # -- fault injection ---------------------------------------------------------------

    def _pick(self, request: ProxyRequest) -> Fault | None:
        """Count ``request`` and return the fault that fires on it, if any."""
        method = request.method.upper()
        with self._fault_lock:
            index = self._method_counts.get(method, 0)
            self._method_counts[method] = index + 1
            for item in self._armed:
                fault = item.fault
                if fault.times is not None and item.fired >= fault.times:
                    continue
                per_method = request.index if fault.method is None else index
                if fault.matches(method, per_method):
                    item.fired += 1
                    self._log.append(FaultEvent(request.index, fault.kind))
                    return fault
        return None

    def respond(self, request: ProxyRequest, forward: Callable[[], ProxyResponse]) -> ProxyResponse:
        """Forward ``request``, or break it as the first matching fault says."""
        connection = self._connection()
        if connection is not None:
            connection.close_upstreams()  # left over from a previous request
        fault = self._pick(request)
        if fault is None:
            return super().respond(request, forward)
        stopping = self._stopping
        kind = fault.kind
        if kind == "status":
            return _status_response(request, fault.status)
        if kind == "replace":
            assert fault.replace_with is not None
            fault.replace_with()
            return super().respond(request, forward)
        if kind == "ignore_range":
            return super().respond(request, lambda: self._forward_without_range(request))
        if fault.after_bytes < 0:  # before the headers; the request is not forwarded
            if kind == "stall":
                self._wait(fault.stall_seconds, stopping, connection)
            elif kind == "reset":
                self._reset(connection, stopping)
            raise AbortConnection
        response = super().respond(request, forward)
        chunked = response.header("Content-Length") is None
        response.body = self._body_fault(fault, iter(response.body), chunked, connection, stopping)
        return response

    def _body_fault(
        self,
        fault: Fault,
        chunks: Iterator[bytes],
        chunked: bool,
        connection: _Connection | None,
        stopping: threading.Event,
    ) -> Iterator[bytes]:
        """Yield ``after_bytes`` of the response body, then break the connection."""
        remaining = fault.after_bytes
        for chunk in chunks:
            if len(chunk) >= remaining:
                head, tail = chunk[:remaining], chunk[remaining:]
                if head:
                    yield head
                remaining = 0
                if tail:
                    chunks = itertools.chain([tail], chunks)
                break
            remaining -= len(chunk)
            yield chunk
        if fault.kind == "truncate":
            if chunked:
                raise AbortConnection  # chunked: no terminating chunk, just the close
            return  # the proxy closes the connection after a short body
        if fault.kind == "reset":
            self._reset(connection, stopping)
        elif fault.kind == "stall":
            self._wait(fault.stall_seconds, stopping, connection)
        else:  # slow
            yield from self._drip(chunks, fault.rate, fault.stall_seconds, stopping)
            return
        raise AbortConnection

    def _drip(
        self, chunks: Iterator[bytes], rate: int, seconds: float, stopping: threading.Event
    ) -> Iterator[bytes]:
        """Yield ``chunks`` in pieces at ``rate`` bytes per second for up to ``seconds``."""
        piece = max(1, rate // _DRIPS_PER_SECOND)
        start = time.monotonic()
        deadline = start + seconds
        sent = 0
        for chunk in chunks:
            for offset in range(0, len(chunk), piece):
                due = start + sent / rate
                if due >= deadline:
                    stopping.wait(max(0.0, deadline - time.monotonic()))
                    raise AbortConnection
                delay = due - time.monotonic()
                if delay > 0 and stopping.wait(delay):
                    raise AbortConnection
                part = chunk[offset : offset + piece]
                sent += len(part)
                yield part

    def _wait(
        self, seconds: float, stopping: threading.Event, connection: _Connection | None
    ) -> None:
        """Sleep up to ``seconds``; return early if the proxy stops or the client leaves."""
        deadline = time.monotonic() + seconds
        watch = connection is not None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if stopping.wait(min(remaining, _POLL_INTERVAL)):
                return
            if watch and connection is not None:
                gone = _client_gone(connection.sock)
                if gone:
                    return
                if gone is None:  # the client sent more; stop watching
                    watch = False

    def _reset(self, connection: _Connection | None, stopping: threading.Event) -> None:
        """Abort the client connection with a TCP reset (best effort)."""
        if connection is None:
            return
        handler = connection.handler
        sock = connection.sock
        _wait_acknowledged(sock, min(self.timeout, _MAX_RESET_DRAIN), stopping)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            return
        # The handler's rfile (a makefile() object) keeps the socket open; close it first so
        # that close() really closes the descriptor -- with linger 0, that sends the RST.
        # The handler's later shutdown() and close() calls then fail quietly.  (Its wfile
        # writes to the socket directly and holds no reference.)
        with contextlib.suppress(OSError, ValueError):
            handler.rfile.close()
        with contextlib.suppress(OSError):
            sock.close()

    def _connection(self) -> _Connection | None:
        connection: _Connection | None = getattr(self._fault_local, "connection", None)
        return connection

    def _forward_without_range(self, request: ProxyRequest) -> ProxyResponse:
        """Send ``request`` upstream without its ``Range`` on a connection of its own."""
        headers = [(k, v) for k, v in request.headers if k.lower() not in _IGNORE_RANGE_SKIP]
        if not any(k.lower() == "host" for k, _ in headers):
            headers.append(("Host", self.upstream_netloc))
        if self.credentials is not None and request.header("Authorization") is not None:
            headers = self._sign(request, headers)
        upstream = http.client.HTTPConnection(
            self.upstream_host, self.upstream_port, timeout=self.timeout
        )
        connection = self._connection()
        if connection is not None:
            connection.upstreams.append(upstream)
        try:
            upstream.putrequest(
                request.method, request.path, skip_host=True, skip_accept_encoding=True
            )
            for key, value in headers:
                upstream.putheader(key, value)
            upstream.endheaders()
            response = upstream.getresponse()
        except (OSError, http.client.HTTPException):
            upstream.close()
            raise
        return ProxyResponse(
            response.status,
            response.reason,
            response.getheaders(),
            self._upstream_body(upstream, response),
        )

    def _upstream_body(
        self, upstream: http.client.HTTPConnection, response: http.client.HTTPResponse
    ) -> Iterator[bytes]:
        try:
            while True:
                try:
                    chunk = response.read1(self.chunk_size)
                except (OSError, http.client.HTTPException) as error:
                    raise AbortConnection from error
                if not chunk:
                    return
                yield chunk
        finally:
            upstream.close()

    def _sign(self, request: ProxyRequest, headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Sign ``headers`` again with :attr:`credentials` (AWS SigV4, for S3)."""
        from botocore.auth import S3SigV4Auth
        from botocore.awsrequest import AWSRequest
        from botocore.credentials import Credentials

        assert self.credentials is not None
        drop = {"authorization", "x-amz-date", "x-amz-content-sha256"}
        kept = [(k, v) for k, v in headers if k.lower() not in drop]
        host = next(v for k, v in kept if k.lower() == "host")
        aws_request = AWSRequest(request.method, f"http://{host}{request.path}")
        for key, value in kept:
            aws_request.headers[key] = value
        aws_request.headers["X-Amz-Content-SHA256"] = "UNSIGNED-PAYLOAD"
        credentials = Credentials(self.credentials.access_key, self.credentials.secret_key)
        S3SigV4Auth(credentials, "s3", self.credentials.region).add_auth(aws_request)
        return list(aws_request.headers.items())

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        return f"<FaultProxy {where} -> {self.upstream_netloc} faults={len(self.faults)}>"


def _client_gone(sock: socket.socket) -> bool | None:
    """True if the client closed its side, None if it sent data, False if quiet."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
        if not readable:
            return False
        return not sock.recv(1, socket.MSG_PEEK)
    except (OSError, ValueError):
        return True


def _wait_acknowledged(sock: socket.socket, limit: float, stopping: threading.Event) -> None:
    """Wait (up to ``limit`` seconds) until the client acknowledged everything sent.

    A reset discards whatever the kernel has not sent yet; waiting first makes the client
    receive exactly the bytes the proxy wrote.  Linux only (``SIOCOUTQ``); elsewhere a no-op.
    """
    try:
        import fcntl
        import termios

        outq = termios.TIOCOUTQ  # == SIOCOUTQ on Linux: unacknowledged bytes
    except (ImportError, AttributeError):
        return
    deadline = time.monotonic() + limit
    buffer = bytearray(4)
    while True:
        try:
            fcntl.ioctl(sock.fileno(), outq, buffer, True)
        except (OSError, ValueError):
            return
        if int.from_bytes(buffer, "little", signed=True) <= 0:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0 or stopping.wait(min(remaining, 0.005)):
            return
