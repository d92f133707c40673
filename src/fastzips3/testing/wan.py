"""A WAN-emulating reverse proxy on loopback: latency per request, bandwidth per connection.

:class:`WanProxy` is a :class:`~fastzips3.testing.proxy.CountingProxy` (so it records every
request and the body bytes it delivered) that makes a loopback server behave roughly like an
object store across a wide-area network:

* **Latency**: every request waits ``latency`` seconds before it is forwarded, so the first
  byte of each response arrives at least that much later than it would directly.  This is the
  per-request cost that makes many small requests expensive (S3's first-byte latency is about
  20-50 ms).
* **Throughput**: each client connection streams response bodies at no more than
  ``bandwidth`` bytes per second, paced by a token bucket that holds at most ``burst``
  bytes.  The bucket belongs to the connection and survives keep-alive requests on it, so
  one connection is capped however many requests it carries, while parallel connections
  each get their own budget -- like a single S3 connection (about 50-100 MB/s) against
  parallel ranged GETs.

Both are applied in :meth:`WanProxy.respond`, the proxy's extension point: it sleeps, calls
``forward()``, and wraps the response body iterator with the pacing.  Request bodies
(uploads) are not paced.

* **No Nagle delay**: the proxy writes a response's headers and its body with separate
  ``send`` calls.  Without ``TCP_NODELAY`` on the client socket, Nagle's algorithm holds the
  body back until the client ACKs the headers, and the client's delayed ACK makes that about
  40 ms on Linux -- an accidental extra latency on every small response.  ``WanProxy`` sets
  ``TCP_NODELAY`` on each client connection (``nodelay=True``), so ``WanProxy(upstream,
  latency=0, bandwidth=None)`` is a counting proxy that adds (almost) nothing.

Usage::

    with LocalS3Server() as server, WanProxy(server.endpoint_url) as proxy:
        client = server.client(endpoint_url=proxy.url)
        ...
        print(proxy.count("GET"), proxy.bytes_sent())
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from fastzips3.testing.proxy import CountingProxy, ProxyRequest, ProxyResponse

__all__ = ["TokenBucket", "WanProxy"]

#: Default added latency per request, in seconds.
DEFAULT_LATENCY = 0.030
#: Default throughput cap per connection, in bytes per second (100 MB/s).
DEFAULT_BANDWIDTH = 100_000_000.0
#: Default token bucket depth, in bytes: what an idle connection may send at once.
DEFAULT_BURST = 256 * 1024


class TokenBucket:
    """Paces a byte stream to ``rate`` bytes per second with bursts of at most ``burst`` bytes.

    Tokens accrue at ``rate`` per second up to ``burst``.  :meth:`take` spends tokens and,
    when the balance goes negative, sleeps until it would be back at zero, so a piece larger
    than the bucket is simply paid for by a longer sleep.  Not thread-safe: use one bucket
    per connection.

    Args:
        rate: Sustained throughput in bytes per second; must be positive.
        burst: Bucket depth in bytes; must be positive.
        clock: Monotonic clock, in seconds (for tests).
        sleep: Sleep function, in seconds (for tests).
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        if burst <= 0:
            raise ValueError(f"burst must be positive, not {burst!r}")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._tokens = self.burst
        self._last = clock()

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._last = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)

    def take(self, amount: int) -> float:
        """Spend ``amount`` tokens, sleeping as long as the rate requires; return the sleep."""
        if amount <= 0:
            return 0.0
        self._refill()
        self._tokens -= amount
        if self._tokens >= 0:
            return 0.0
        wait = -self._tokens / self.rate
        self._sleep(wait)
        self._refill()
        return wait

    def pace(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Yield ``chunks`` unchanged, each one only once the bucket has paid for it."""
        for chunk in chunks:
            self.take(len(chunk))
            yield chunk


def _nodelay_handler(base: Callable[..., Any]) -> Callable[..., Any]:
    """A subclass of the proxy's handler class that sets ``TCP_NODELAY`` in ``setup()``."""
    if getattr(base, "_wan_nodelay", False):
        return base
    assert isinstance(base, type)

    class NoDelayHandler(base):  # type: ignore[misc,valid-type]
        _wan_nodelay = True

        def setup(self) -> None:
            super().setup()
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    return NoDelayHandler


class WanProxy(CountingProxy):
    """A :class:`CountingProxy` that adds per-request latency and a per-connection rate cap.

    Args:
        upstream: Base URL of the upstream server, ``http://host:port``.
        latency: Seconds added before each request is forwarded (so before the first byte
            of its response); 0 for none.
        bandwidth: Response body throughput cap of each client connection, in bytes per
            second; None for no cap.
        burst: Token bucket depth of each connection, in bytes (default 256 KiB, one proxy
            chunk).
        nodelay: Set ``TCP_NODELAY`` on client connections (see the module docstring).
        chunk_size: Largest piece of a body read or written at once.
        timeout: Socket timeout in seconds, both sides.

    The rate limit is kept per client connection: the proxy serves each connection on its own
    thread, and the bucket lives in thread-local storage, so keep-alive requests on one
    connection share one bucket.
    """

    def __init__(
        self,
        upstream: str,
        *,
        latency: float = DEFAULT_LATENCY,
        bandwidth: float | None = DEFAULT_BANDWIDTH,
        burst: int = DEFAULT_BURST,
        nodelay: bool = True,
        chunk_size: int = 256 * 1024,
        timeout: float = 60.0,
    ) -> None:
        if latency < 0:
            raise ValueError(f"latency must be >= 0, not {latency!r}")
        if bandwidth is not None and bandwidth <= 0:
            raise ValueError(f"bandwidth must be positive or None, not {bandwidth!r}")
        if burst <= 0:
            raise ValueError(f"burst must be positive, not {burst!r}")
        super().__init__(upstream, chunk_size=chunk_size, timeout=timeout)
        self.latency = float(latency)
        self.bandwidth = None if bandwidth is None else float(bandwidth)
        self.burst = burst
        self.nodelay = nodelay
        self._local = threading.local()

    def start(self) -> None:
        """Bind a free loopback port and serve in a background thread.

        With ``nodelay``, client connections are served by a handler class that sets
        ``TCP_NODELAY``; it is swapped in before :attr:`url` is known to anyone, so before any
        connection can arrive.
        """
        super().start()
        server = self._server
        if self.nodelay and server is not None:
            server.RequestHandlerClass = _nodelay_handler(server.RequestHandlerClass)

    def _bucket(self) -> TokenBucket | None:
        """The calling connection's token bucket (one per handler thread), or None."""
        if self.bandwidth is None:
            return None
        bucket: TokenBucket | None = getattr(self._local, "bucket", None)
        if bucket is None or bucket.rate != self.bandwidth:
            bucket = TokenBucket(self.bandwidth, self.burst)
            self._local.bucket = bucket
        return bucket

    def respond(self, request: ProxyRequest, forward: Callable[[], ProxyResponse]) -> ProxyResponse:
        """Wait ``latency``, forward upstream, and pace the response body per connection."""
        if self.latency > 0:
            time.sleep(self.latency)
        response = forward()
        bucket = self._bucket()
        if bucket is not None:
            response.body = bucket.pace(response.body)
        return response

    def __repr__(self) -> str:
        where = self.url if self._server is not None else "stopped"
        rate = "unlimited" if self.bandwidth is None else f"{self.bandwidth / 1e6:g} MB/s"
        return (
            f"<WanProxy {where} -> {self.upstream_netloc} "
            f"latency={self.latency * 1000:g} ms bandwidth={rate}/connection>"
        )
