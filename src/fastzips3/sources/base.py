"""The byte source protocol: size, version, and ranged reads. Sources fetch; they never parse.

Ranges are half-open, given as keyword-only ``start`` / ``end``. A source learns the object's
size and version (ETag or versionId) from its first response, and pins every later request to
that version, so bytes of two versions never mix.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from fastzips3.errors import SourceChangedError, SourceError

__all__ = ["BaseSource", "ObjectVersion", "RangeStream", "Source", "TailRead"]


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """What identifies one version of an object: size, and ETag and/or version id."""

    size: int
    etag: str | None = None
    version_id: str | None = None


@dataclass(frozen=True, slots=True)
class TailRead:
    """The answer to a suffix read: the last bytes of the object and the version they belong to."""

    data: bytes
    start: int
    version: ObjectVersion


@runtime_checkable
class RangeStream(Protocol):
    """A streamed response body for one range: read it in pieces, then close it."""

    def read(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes; fewer only at the end of the range."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


@runtime_checkable
class Source(Protocol):
    """Where archive bytes come from: S3, HTTP, a local file, memory, or any fsspec filesystem."""

    @property
    def url(self) -> str:
        """The location, with any credentials redacted."""
        ...

    @property
    def version(self) -> ObjectVersion | None:
        """The pinned version, once known (after the first read)."""
        ...

    def read_tail(self, length: int) -> TailRead:
        """The last ``length`` bytes (all of them if the object is smaller), and the version."""
        ...

    def revalidate(self, version: ObjectVersion, length: int) -> TailRead | None:
        """None if the object still is ``version`` (then pinned to it), else its new tail."""
        ...

    def assume(self, version: ObjectVersion) -> None:
        """Pin ``version`` without contacting the object (later reads check it)."""
        ...

    def read_range(self, *, start: int, end: int) -> bytes:
        """Exactly the bytes ``[start, end)``; fewer is an error."""
        ...

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """A stream over the bytes ``[start, end)``."""
        ...

    def close(self) -> None:
        """Release connections and files."""
        ...


class BaseSource(ABC):
    """Shared behaviour: version pinning checks and exact-length reads over ``open_range``."""

    #: Whether listings of this source are worth caching on disk (not for local files).
    remote = True

    def __init__(self, url: str) -> None:
        self._url = url
        self._version: ObjectVersion | None = None

    @property
    def url(self) -> str:
        """The location, with any credentials redacted."""
        return self._url

    @property
    def version(self) -> ObjectVersion | None:
        """The pinned version, once known."""
        return self._version

    def _pin(self, version: ObjectVersion) -> ObjectVersion:
        """Record the version on first contact, and check it on every later response."""
        if self._version is None:
            self._version = version
            return version
        pinned = self._version
        changed = version.size != pinned.size or (
            pinned.etag is not None and version.etag is not None and version.etag != pinned.etag
        )
        if changed:
            raise SourceChangedError(
                f"the object changed while it was being read (was {pinned.size} bytes, "
                f"ETag {pinned.etag}; now {version.size} bytes, ETag {version.etag}); "
                "reopen it to read the new version",
                url=self._url,
            )
        return pinned

    def _check_range(self, start: int, end: int) -> None:
        if start < 0 or end < start:
            raise ValueError(f"invalid range [{start}, {end})")
        if self._version is not None and end > self._version.size:
            raise SourceError(
                f"range [{start}, {end}) is past the end of the object ({self._version.size} "
                "bytes)",
                url=self._url,
                range=(start, end),
            )

    @abstractmethod
    def read_tail(self, length: int) -> TailRead:
        """The last ``length`` bytes of the object, and its version."""

    @abstractmethod
    def open_range(self, *, start: int, end: int) -> RangeStream:
        """A stream over ``[start, end)``."""

    def revalidate(self, version: ObjectVersion, length: int) -> TailRead | None:
        """Without a conditional request: read the tail and compare versions."""
        tail = self.read_tail(length)
        same = tail.version.size == version.size and tail.version.etag == version.etag
        return None if same else tail

    def assume(self, version: ObjectVersion) -> None:
        """Pin ``version`` without contacting the object."""
        self._pin(version)

    def read_range(self, *, start: int, end: int) -> bytes:
        """Exactly ``[start, end)``, read through :meth:`open_range`."""
        self._check_range(start, end)
        if end == start:
            return b""
        stream = self.open_range(start=start, end=end)
        try:
            return read_exactly(stream, end - start, url=self._url, start=start)
        finally:
            stream.close()

    def read_ranges(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        """Several ranges, one request each, in order."""
        return [self.read_range(start=s, end=e) for s, e in ranges]

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (nothing by default)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"


def read_exactly(stream: RangeStream, length: int, *, url: str, start: int) -> bytes:
    """Read ``length`` bytes from ``stream``; a short body raises :class:`SourceError`."""
    parts: list[bytes] = []
    remaining = length
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            raise SourceError(
                f"the response ended after {length - remaining} of {length} bytes",
                url=url,
                range=(start, start + length),
            )
        parts.append(chunk)
        remaining -= len(chunk)
    # One chunk is returned as it is: copying a fresh 256 KiB buffer costs more than reading it.
    return parts[0] if len(parts) == 1 else b"".join(parts)
