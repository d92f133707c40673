"""MemorySource: an archive held in memory. Public, for users' tests and for pure tests."""

from __future__ import annotations

import io

from fastzips3.sources.base import BaseSource, ObjectVersion, RangeStream, TailRead

__all__ = ["MemorySource"]


def _etag(data: bytes) -> str:
    import hashlib  # 2 ms at import; a MemorySource is rare outside tests

    return '"' + hashlib.md5(data, usedforsecurity=False).hexdigest() + '"'


class MemorySource(BaseSource):
    """Serve ranges of a bytes object, as a server would (with an ETag of its MD5).

    ``etag`` gives the ETag instead of hashing the data (an HTTP source that holds a whole
    response passes the server's). ``bytes`` are not copied.
    """

    remote = False

    def __init__(
        self, data: bytes, *, url: str = "memory://archive.zip", etag: str | None = None
    ) -> None:
        super().__init__(url)
        self._data = bytes(data)
        self._etag = etag if etag is not None else _etag(self._data)

    def _current(self) -> ObjectVersion:
        return ObjectVersion(size=len(self._data), etag=self._etag)

    def replace(self, data: bytes) -> None:
        """Swap the content, as if the object were overwritten (for tests of pinning)."""
        self._data = bytes(data)
        self._etag = _etag(self._data)

    def read_tail(self, length: int) -> TailRead:
        """The last ``length`` bytes."""
        version = self._pin(self._current())
        start = max(0, len(self._data) - length)
        return TailRead(self._data[start:], start, version)

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """A stream over ``[start, end)``."""
        self._pin(self._current())
        self._check_range(start, end)
        return io.BytesIO(self._data[start:end])
