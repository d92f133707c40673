"""FileObjectSource: a binary, seekable file object the caller already opened (as zipfile takes)."""

from __future__ import annotations

import io
import threading
from typing import IO

from fastzips3.errors import SourceError
from fastzips3.sources.base import BaseSource, ObjectVersion, RangeStream, TailRead

__all__ = ["FileObjectSource"]


class _FileObjectRange:
    """A stream over ``[start, end)`` of a shared file object; each read seeks under the lock."""

    def __init__(self, owner: FileObjectSource, start: int, end: int) -> None:
        self._owner = owner
        self._pos = start
        self._end = end

    def read(self, size: int = -1, /) -> bytes:
        n = self._end - self._pos if size < 0 else min(size, self._end - self._pos)
        if n <= 0:
            return b""
        data = self._owner.pread(self._pos, n)
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._pos = self._end


class FileObjectSource(BaseSource):
    """Ranges of an open binary file object (``io.BytesIO``, an open file, a ``RemoteFile``).

    The object must be readable and seekable. Reads from several threads are serialised by a
    lock (each is a seek then a read), so the engine's parallel fetches stay correct. The file
    object is the caller's: :meth:`close` leaves it open, as ``zipfile`` does with a file
    object it was given. Its size is taken once, at construction: if the file shrinks later,
    reads past its new end raise :class:`~fastzips3.errors.SourceError`.
    """

    remote = False

    def __init__(self, fileobj: IO[bytes] | io.IOBase, *, url: str | None = None) -> None:
        name = getattr(fileobj, "name", None)
        super().__init__(url or (name if isinstance(name, str) else f"<{type(fileobj).__name__}>"))
        readable = getattr(fileobj, "readable", None)
        seekable = getattr(fileobj, "seekable", None)
        if not (callable(readable) and readable() and callable(seekable) and seekable()):
            raise ValueError(
                f"{type(fileobj).__name__} is not a readable, seekable binary file; open the "
                "file in 'rb' mode, or pass its path or URL instead"
            )
        self._file = fileobj
        self._lock = threading.Lock()
        with self._lock:
            size = fileobj.seek(0, io.SEEK_END)
        self._pin(ObjectVersion(size=size))

    def pread(self, start: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``start`` (fewer only at the end of the file)."""
        with self._lock:
            try:
                self._file.seek(start)
                data = self._file.read(length)
            except OSError as exc:
                raise SourceError(
                    f"reading the file object failed: {exc}",
                    url=self._url,
                    range=(start, start + length),
                ) from exc
        if not isinstance(data, (bytes, bytearray)):
            raise SourceError(
                f"the file object returned {type(data).__name__}, not bytes: open it in 'rb' mode",
                url=self._url,
            )
        return bytes(data)

    def read_tail(self, length: int) -> TailRead:
        """The last ``length`` bytes."""
        assert self._version is not None
        size = self._version.size
        start = max(0, size - length)
        return TailRead(self.read_range(start=start, end=size), start, self._version)

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """A stream over ``[start, end)``."""
        self._check_range(start, end)
        return _FileObjectRange(self, start, end)
