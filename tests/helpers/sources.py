"""Test sources: a wrapper that records every call a source gets, counted outside fastzips3."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from fastzips3.sources.base import ObjectVersion, RangeStream, Source, TailRead


@dataclass(frozen=True)
class Call:
    """One request as the source saw it."""

    kind: str
    start: int
    end: int


class _Counted:
    def __init__(self, stream: RangeStream, owner: RecordingSource) -> None:
        self._stream = stream
        self._owner = owner

    def read(self, size: int = -1, /) -> bytes:
        data = self._stream.read(size)
        self._owner.add_bytes(len(data))
        return data

    def close(self) -> None:
        self._stream.close()


class RecordingSource:
    """Wraps a source and records every request and every byte it delivers."""

    def __init__(self, inner: Source) -> None:
        self.inner = inner
        self.calls: list[Call] = []
        self.bytes_delivered = 0
        self._lock = threading.Lock()

    def add_bytes(self, n: int) -> None:
        with self._lock:
            self.bytes_delivered += n

    @property
    def url(self) -> str:
        return self.inner.url

    @property
    def version(self) -> ObjectVersion | None:
        return self.inner.version

    def read_tail(self, length: int) -> TailRead:
        tail = self.inner.read_tail(length)
        with self._lock:
            self.calls.append(Call("tail", tail.start, tail.start + len(tail.data)))
        self.add_bytes(len(tail.data))
        return tail

    @property
    def remote(self) -> bool:
        return bool(getattr(self.inner, "remote", True))

    def revalidate(self, version: ObjectVersion, length: int) -> TailRead | None:
        tail = self.inner.revalidate(version, length)
        with self._lock:
            self.calls.append(Call("revalidate", -1, -1))
        if tail is not None:
            self.add_bytes(len(tail.data))
        return tail

    def assume(self, version: ObjectVersion) -> None:
        self.inner.assume(version)

    def read_range(self, *, start: int, end: int) -> bytes:
        with self._lock:
            self.calls.append(Call("range", start, end))
        data = self.inner.read_range(start=start, end=end)
        self.add_bytes(len(data))
        return data

    def open_range(self, *, start: int, end: int) -> RangeStream:
        with self._lock:
            self.calls.append(Call("stream", start, end))
        return _Counted(self.inner.open_range(start=start, end=end), self)

    def close(self) -> None:
        self.inner.close()

    @property
    def requests(self) -> int:
        return len(self.calls)

    def outside(self, lo: int, hi: int) -> list[Call]:
        """Calls that asked for any byte outside ``[lo, hi)``."""
        return [c for c in self.calls if c.start < lo or c.end > hi]
