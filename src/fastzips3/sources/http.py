"""HTTPSource: any HTTP(S) server that honours Range, through urllib3.

Servers differ. S3 and most object stores answer a suffix range (``bytes=-N``) with 206 and a
``Content-Range`` that gives the size. Some send no ``Accept-Ranges`` header (so it is not
required); some refuse suffix ranges (416) or ignore ranges (200 with the whole body). For those
the source falls back to a HEAD and an explicit range, and says so at debug level.
"""

from __future__ import annotations

# urllib3 encodes every host with the IDNA codec before its first connection. Importing the
# codec with the source (as requests does) keeps about 1.5 ms of imports off the first request.
import encodings.idna  # noqa: F401
import logging
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import urllib3
from urllib3.exceptions import HTTPError
from urllib3.exceptions import TimeoutError as Urllib3Timeout

from fastzips3.errors import (
    RangeNotSupportedError,
    SourceChangedError,
    SourceError,
    SourceNotFoundError,
    SourcePermissionError,
    SourceTimeoutError,
    redact_url,
)
from fastzips3.sources.base import BaseSource, ObjectVersion, RangeStream, TailRead

__all__ = ["HTTPSource", "shared_pool"]

log = logging.getLogger("fastzips3.http")

_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_pool: urllib3.PoolManager | None = None
_pool_lock = threading.Lock()


def shared_pool() -> urllib3.PoolManager:
    """The process-wide connection pool for HTTP sources."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = urllib3.PoolManager(
                num_pools=32,
                maxsize=32,
                timeout=urllib3.Timeout(connect=10.0, read=60.0),
                retries=urllib3.Retry(
                    total=3, backoff_factor=0.2, status_forcelist=(502, 503, 504)
                ),
            )
        return _pool


class _ResponseStream:
    def __init__(self, response: Any, source: HTTPSource, rng: tuple[int, int]) -> None:
        self._response = response
        self._source = source
        self._range = rng

    def read(self, size: int = -1, /) -> bytes:
        with self._source._mapped(self._range):
            data: bytes = self._response.read(None if size < 0 else size)
        return data

    def close(self) -> None:
        self._response.release_conn()
        self._response.close()


class HTTPSource(BaseSource):
    """An object behind an HTTP(S) URL (presigned URLs included; their signature is redacted)."""

    def __init__(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        pool: urllib3.PoolManager | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        super().__init__(redact_url(url))
        self._real_url = url
        self._timeout = urllib3.Timeout(connect=connect_timeout, read=read_timeout)
        self._headers = dict(headers or {})
        self._pool = pool if pool is not None else shared_pool()

    @contextmanager
    def _mapped(self, rng: tuple[int, int] | None) -> Iterator[None]:
        try:
            yield
        except Urllib3Timeout as exc:
            raise SourceTimeoutError(
                f"HTTP request timed out: {type(exc).__name__}", url=self._url, range=rng
            ) from exc
        except HTTPError as exc:
            raise SourceError(
                f"HTTP request failed: {type(exc).__name__}: {exc}",
                url=self._url,
                range=rng,
                retryable=True,
            ) from exc
        except OSError as exc:
            if isinstance(exc, SourceError):
                raise
            raise SourceError(
                f"HTTP connection failed: {exc}", url=self._url, range=rng, retryable=True
            ) from exc

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
        with self._mapped(rng):
            response = self._pool.request(
                method,
                self._real_url,
                headers=all_headers,
                preload_content=False,
                redirect=True,
                timeout=self._timeout,
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
        length = response.headers.get("Content-Length")
        if length is None:
            raise RangeNotSupportedError(
                "the server gives no Content-Length, so the archive size is unknown",
                url=self._url,
            )
        return self._version_from(response, int(length))

    def revalidate(self, version: ObjectVersion, length: int) -> TailRead | None:
        """One conditional suffix GET: 304 (None) when unchanged, else the new tail."""
        if not version.etag:
            return super().revalidate(version, length)
        return self._tail(length, if_none_match=version.etag, cached=version)

    def read_tail(self, length: int) -> TailRead:
        """One GET with a suffix range; HEAD plus an explicit range if the server refuses it."""
        tail = self._tail(length)
        assert tail is not None
        return tail

    def _tail(
        self, length: int, *, if_none_match: str | None = None, cached: ObjectVersion | None = None
    ) -> TailRead | None:
        length = max(1, length)
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
                version = self._pin(self._version_from(response, int(m.group(3))))
                with self._mapped(None):
                    data: bytes = response.read()
                response.release_conn()
                start = int(m.group(1))
                if start + len(data) != version.size:
                    raise SourceError(
                        "the tail response is shorter than its Content-Range", url=self._url
                    )
                return TailRead(data, start, version)
        declared = response.headers.get("Content-Length")
        if response.status == 200 and declared is not None and int(declared) <= length:
            # A server that ignores ranges, on an object smaller than the tail: this is the
            # whole object, which is all we asked for.
            with self._mapped(None):
                data = response.read()
            response.release_conn()
            version = self._pin(self._version_from(response, len(data)))
            return TailRead(data, 0, version)
        if response.status == 200:
            response.close()  # do not download a whole object we did not ask for
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
        return TailRead(self.read_range(start=start, end=version.size), start, version)

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """One GET of ``bytes=start-(end-1)``, streamed."""
        self._check_range(start, end)
        rng = (start, end)
        response = self._request("GET", {"Range": f"bytes={start}-{end - 1}"}, rng)
        if response.status == 416:
            response.release_conn()
            raise SourceError(
                "the server says the range is not satisfiable", url=self._url, range=rng
            )
        if response.status == 200:
            response.close()  # do not download the whole object
            response.release_conn()
            raise RangeNotSupportedError(
                "the server ignored the Range header and sent the whole object (200); "
                "fastzips3 needs range requests",
                url=self._url,
                range=rng,
                retryable=True,
            )
        m = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if m is None or int(m.group(1)) != start or int(m.group(2)) != end - 1:
            response.release_conn()
            raise SourceError(
                f"the server answered with Content-Range {response.headers.get('Content-Range')!r}",
                url=self._url,
                range=rng,
            )
        if m.group(3) != "*":
            try:
                self._pin(self._version_from(response, int(m.group(3))))
            except SourceChangedError:
                response.release_conn()
                raise
        return _ResponseStream(response, self, rng)


def _status_error(status: int, url: str, rng: tuple[int, int] | None) -> SourceError:
    if status == 404 or status == 410:
        return SourceNotFoundError(f"HTTP {status}: not found", url=url, range=rng)
    if status in (401, 403):
        return SourcePermissionError(f"HTTP {status}: access denied", url=url, range=rng)
    if status == 412:
        return SourceChangedError(
            "the object changed while it was being read (HTTP 412 on If-Match); reopen it",
            url=url,
            range=rng,
        )
    return SourceError(
        f"HTTP {status}", url=url, range=rng, retryable=status >= 500 or status == 429
    )
