"""HTTPSource: any HTTP(S) server, through urllib3.

Servers differ. S3 and most object stores answer a suffix range (``bytes=-N``) with 206 and a
``Content-Range`` that gives the size. Some send no ``Accept-Ranges`` header (so it is not
required); some refuse suffix ranges (416), for which the source falls back to a HEAD and an
explicit range, and says so at debug level.

Some ignore ``Range`` altogether and answer 200 with the whole body (``python -m http.server``
does). That is not transient, so it is never retried: the first such answer is kept, up to
``max_unranged_size`` bytes (64 MiB by default), and the archive is then served from memory at
the cost of that one request. A larger body is cut off at once (one explicit range is still
tried, for servers that only refuse the suffix form) and :class:`RangeNotSupportedError` names
the limit and the option.

urllib3 does not retry here: fastzips3's :class:`~fastzips3.RetryPolicy` does, once per request,
with a cause it understands (urllib3's own retries multiplied the attempts and buried the cause
in ``MaxRetryError``). Foreign exceptions become :mod:`fastzips3.errors` in plain words (see
:func:`~fastzips3.sources.base.network_error`), chained only to redacted copies, so no URL
secret reaches a message.
"""

from __future__ import annotations

# urllib3 encodes every host with the IDNA codec before its first connection. Importing the
# codec with the source (as requests does) keeps about 1.5 ms of imports off the first request.
import encodings.idna  # noqa: F401
import http.client
import logging
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import urllib3
from urllib3.exceptions import HTTPError

from fastzips3.errors import (
    RangeNotSupportedError,
    SourceChangedError,
    SourceError,
    SourceNotFoundError,
    SourcePermissionError,
    redact_url,
)
from fastzips3.sources.base import (
    BaseSource,
    ObjectVersion,
    RangeStream,
    TailRead,
    network_error,
    url_secrets,
)
from fastzips3.sources.memory import MemorySource

__all__ = ["DEFAULT_MAX_UNRANGED_SIZE", "HTTPSource", "shared_pool"]

log = logging.getLogger("fastzips3.http")

T = TypeVar("T")

#: The largest whole body (from a server that ignores ``Range``) kept in memory by default.
DEFAULT_MAX_UNRANGED_SIZE = 64 << 20

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_pool: urllib3.PoolManager | None = None
_pool_lock = threading.Lock()

#: One attempt per request (fastzips3's RetryPolicy retries), redirects followed.
_NO_RETRIES = urllib3.Retry(
    total=None, connect=0, read=0, status=0, other=0, redirect=10, raise_on_status=False
)


def shared_pool() -> urllib3.PoolManager:
    """The process-wide connection pool for HTTP sources (no urllib3-level retries)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = urllib3.PoolManager(
                num_pools=32,
                maxsize=32,
                timeout=urllib3.Timeout(connect=10.0, read=60.0),
                retries=_NO_RETRIES,
            )
        return _pool


def _size_text(n: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):.4g} {unit}"
    return f"{n} bytes"


def _content_length(response: Any) -> int | None:
    value = response.headers.get("Content-Length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class _ResponseStream:
    def __init__(self, response: Any, source: HTTPSource, rng: tuple[int, int]) -> None:
        self._response = response
        self._source = source
        self._range = rng

    def read(self, size: int = -1, /) -> bytes:
        data: bytes = self._source._guard(
            lambda: self._response.read(None if size < 0 else size), self._range
        )
        return data

    def close(self) -> None:
        self._response.release_conn()
        self._response.close()


class HTTPSource(BaseSource):
    """An object behind an HTTP(S) URL (presigned URLs included; their secrets are redacted).

    ``max_unranged_size``: when the server ignores ``Range`` and sends the whole object, keep
    it in memory (and make no further request) up to this many bytes; past it, raise
    :class:`RangeNotSupportedError` at once.
    """

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        pool: urllib3.PoolManager | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_unranged_size: int = DEFAULT_MAX_UNRANGED_SIZE,
    ) -> None:
        super().__init__(redact_url(url))
        if max_unranged_size < 0:
            raise ValueError("max_unranged_size must be >= 0")
        self._real_url = url
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._timeouts = (connect_timeout, read_timeout)
        self._headers = dict(headers or {})
        self._pool = pool if pool is not None else shared_pool()
        self._max_unranged = max_unranged_size
        self._secrets = url_secrets(url)
        parsed = urllib3.util.parse_url(url)
        self._host = parsed.host
        self._port = parsed.port or (443 if parsed.scheme == "https" else 80)
        #: The whole object, once a server that ignores Range sent it.
        self._memory: MemorySource | None = None
        self._memory_lock = threading.Lock()
        #: Whether the server ever answered a range with 206 (a later 200 is then a flake).
        self._ranged = False

    @property
    def in_memory(self) -> bool:
        """True once the whole object is held in memory (the server ignored ``Range``)."""
        return self._memory is not None

    def _memory_copy(self) -> MemorySource | None:
        return self._memory

    def _guard(self, call: Callable[[], T], rng: tuple[int, int] | None) -> T:
        """Run ``call``; urllib3, socket and TLS errors become fastzips3's, in plain words."""
        try:
            return call()
        except SourceError:
            raise
        except (HTTPError, OSError, http.client.HTTPException) as exc:
            err = network_error(
                exc,
                url=self._url,
                host=self._host,
                port=self._port,
                range=rng,
                secrets=self._secrets,
                timeouts=self._timeouts,
            )
        # Raised outside the except block, so that the foreign exception is not its context.
        raise err

    def _request(self, method: str, headers: dict[str, str], rng: tuple[int, int] | None) -> Any:
        all_headers = {**self._headers, **headers}
        pinned = self._version
        if (
            pinned is not None
            and pinned.etag
            and not pinned.etag.startswith("W/")
            and "If-None-Match" not in all_headers
        ):
            all_headers["If-Match"] = pinned.etag
        response = self._guard(
            lambda: self._pool.request(
                method,
                self._real_url,
                headers=all_headers,
                preload_content=False,
                redirect=True,
                retries=_NO_RETRIES,
                timeout=self._timeout,
            ),
            rng,
        )
        status = response.status
        if status in (200, 206, 304) or (status == 416 and method == "GET"):
            return response
        response.drain_conn()
        response.release_conn()
        raise _status_error(status, self._url, rng)

    def _version_from(self, response: Any, size: int) -> ObjectVersion:
        return ObjectVersion(size=size, etag=response.headers.get("ETag"))

    def _head(self) -> ObjectVersion:
        response = self._request("HEAD", {}, None)
        response.release_conn()
        length = _content_length(response)
        if length is None:
            raise RangeNotSupportedError(
                "the server gives no Content-Length, so the archive size is unknown",
                url=self._url,
            )
        return self._version_from(response, length)

    # --- a server that ignores Range ------------------------------------------------------

    def _too_large(self, size: int | None) -> RangeNotSupportedError:
        """The error for a whole body past ``max_unranged_size``; retried only if the server
        honoured ranges before (then a proxy in between flaked)."""
        what = f"the whole object ({_size_text(size)})" if size is not None else "the whole object"
        return RangeNotSupportedError(
            f"the server ignores Range requests and sent {what}, more than max_unranged_size "
            f"({_size_text(self._max_unranged)}) allows fastzips3 to keep in memory; raise that "
            "option (--max-unranged-size on the command line), or serve the archive from a "
            "server that supports range requests",
            url=self._url,  # no range: the cause is the whole object, not a part of it
            retryable=self._ranged,
        )

    def _keep_whole(self, response: Any, rng: tuple[int, int] | None) -> MemorySource:
        """Keep a 200 answer's whole body as the object, up to ``max_unranged_size`` bytes."""
        declared = _content_length(response)
        limit = self._max_unranged
        if declared is not None and declared > limit:
            response.close()  # do not download what cannot be kept
            response.release_conn()
            raise self._too_large(declared)
        data: bytes = self._guard(lambda: response.read(limit + 1), rng)
        if len(data) > limit:
            response.close()
            response.release_conn()
            raise self._too_large(None)
        response.release_conn()
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if declared is not None and len(data) != declared and not encoded:
            raise SourceError(
                f"the response ended after {len(data)} of {declared} bytes",
                url=self._url,
                range=rng,
                retryable=True,
            )
        version = self._pin(self._version_from(response, len(data)))
        with self._memory_lock:
            if self._memory is None:
                log.debug(
                    "%s: the server ignores Range; serving the archive (%d bytes) from memory",
                    self._url,
                    len(data),
                )
                # Its own ETag only pins the copy to itself (MD5 of 64 MiB takes 0.1 s).
                self._memory = MemorySource(data, url=self._url, etag=version.etag or '"whole"')
            return self._memory

    # --- the Source protocol ----------------------------------------------------------------

    def revalidate(self, version: ObjectVersion, length: int) -> TailRead | None:
        """One conditional suffix GET: 304 (None) when unchanged, else the new tail."""
        if self._memory is not None or not version.etag:
            return super().revalidate(version, length)
        return self._tail(length, if_none_match=version.etag, cached=version)

    def read_tail(self, length: int) -> TailRead:
        """One GET with a suffix range; HEAD plus an explicit range if the server refuses it.

        A 200 with the whole body is kept (up to ``max_unranged_size``), and the tail is cut
        from it.
        """
        tail = self._tail(length)
        assert tail is not None
        return tail

    def _memory_tail(self, memory: MemorySource, length: int) -> TailRead:
        tail = memory.read_tail(length)
        version = self._version
        assert version is not None
        return TailRead(tail.data, tail.start, version)

    def _tail(
        self, length: int, *, if_none_match: str | None = None, cached: ObjectVersion | None = None
    ) -> TailRead | None:
        length = max(1, length)
        if self._memory is not None:
            return self._memory_tail(self._memory, length)
        headers = {"Range": f"bytes=-{length}"}
        if if_none_match is not None:
            headers["If-None-Match"] = if_none_match
        response = self._request("GET", headers, None)
        if response.status == 304:
            response.release_conn()
            assert cached is not None
            self._pin(cached)
            return None
        if response.status == 206:
            m = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if m is not None and m.group(3) != "*":
                self._ranged = True
                version = self._pin(self._version_from(response, int(m.group(3))))
                data: bytes = self._guard(response.read, None)
                response.release_conn()
                start = int(m.group(1))
                if start + len(data) != version.size:
                    raise SourceError(
                        "the tail response is shorter than its Content-Range", url=self._url
                    )
                return TailRead(data, start, version)
        declared = _content_length(response)
        if response.status == 200 and (declared is None or declared <= self._max_unranged):
            return self._memory_tail(self._keep_whole(response, None), length)
        if response.status == 200:
            # Too large to keep. Some servers refuse only the suffix form: one explicit range
            # (the size is the Content-Length) tells; a second 200 fails at once.
            response.close()
            response.release_conn()
            assert declared is not None
            log.debug(
                "%s: the server answered a suffix range with 200 (%d bytes); trying an "
                "explicit range",
                self._url,
                declared,
            )
            version = self._pin(self._version_from(response, declared))
        else:
            response.drain_conn()
            response.release_conn()
            log.debug(
                "%s: the server answered a suffix range with %s; falling back to HEAD + range",
                self._url,
                response.status,
            )
            version = self._pin(self._head())
        start = max(0, version.size - length)
        data = self.read_range(start=start, end=version.size)
        memory = self._memory_copy()
        if memory is not None:  # the explicit range was answered with a small 200
            return self._memory_tail(memory, length)
        return TailRead(data, start, version)

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """One GET of ``bytes=start-(end-1)``, streamed (from memory once the server has sent
        the whole object)."""
        self._check_range(start, end)
        if self._memory is not None:
            return self._memory.open_range(start=start, end=end)
        rng = (start, end)
        response = self._request("GET", {"Range": f"bytes={start}-{end - 1}"}, rng)
        if response.status == 416:
            response.release_conn()
            raise SourceError(
                "the server says the range is not satisfiable", url=self._url, range=rng
            )
        if response.status == 200:
            return self._keep_whole(response, rng).open_range(start=start, end=end)
        m = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if m is None or int(m.group(1)) != start or int(m.group(2)) != end - 1:
            response.release_conn()
            raise SourceError(
                f"the server answered with Content-Range {response.headers.get('Content-Range')!r}",
                url=self._url,
                range=rng,
            )
        self._ranged = True
        if m.group(3) != "*":
            try:
                self._pin(self._version_from(response, int(m.group(3))))
            except SourceChangedError:
                response.release_conn()
                raise
        return _ResponseStream(response, self, rng)


def _status_error(status: int, url: str, rng: tuple[int, int] | None) -> SourceError:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    answer = f"HTTP {status} {phrase}".rstrip()
    if status == 404 or status == 410:
        return SourceNotFoundError(f"{answer}: no such object", url=url, range=rng)
    if status in (401, 403):
        return SourcePermissionError(f"{answer}: access denied", url=url, range=rng)
    if status == 412:
        return SourceChangedError(
            f"{answer}: the object changed while it was being read (If-Match); reopen it",
            url=url,
            range=rng,
        )
    return SourceError(
        f"{answer} from the server",
        url=url,
        range=rng,
        retryable=status >= 500 or status == 429,
    )
