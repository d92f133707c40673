"""LocalSource: a file on local disk, read with positional reads (thread-safe, no seeks)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from fastzips3.errors import SourceError, SourceNotFoundError, SourcePermissionError
from fastzips3.sources.base import BaseSource, ObjectVersion, RangeStream, TailRead

__all__ = ["LocalSource"]


class _FileRange:
    """A stream over ``[start, end)`` of an open descriptor."""

    def __init__(self, fd: int, start: int, end: int, path: str) -> None:
        self._fd = fd
        self._pos = start
        self._end = end
        self._path = path

    def read(self, size: int = -1, /) -> bytes:
        n = self._end - self._pos if size < 0 else min(size, self._end - self._pos)
        if n <= 0:
            return b""
        try:
            data = os.pread(self._fd, n, self._pos)
        except OSError as exc:
            raise SourceError(
                f"reading {self._path} failed: {exc}", url=self._path, range=(self._pos, self._end)
            ) from exc
        self._pos += len(data)
        return data

    def close(self) -> None:
        self._pos = self._end


class LocalSource(BaseSource):
    """A local file. The version is its size and modification time, checked at open."""

    remote = False
    #: :meth:`read_range` is one positional read into one buffer: the engine calls it rather
    #: than streaming a range in chunks and joining them.
    whole_reads = True

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        super().__init__(str(self.path))
        try:
            self._fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        except FileNotFoundError as exc:
            raise SourceNotFoundError("no such file", url=str(self.path)) from exc
        except PermissionError as exc:
            raise SourcePermissionError("permission denied", url=str(self.path)) from exc
        except OSError as exc:
            raise SourceError(f"cannot open: {exc}", url=str(self.path)) from exc
        st = os.fstat(self._fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(self._fd)
            raise SourceError("not a regular file", url=str(self.path))
        self._pin(ObjectVersion(size=st.st_size, etag=f"{st.st_mtime_ns:x}-{st.st_size:x}"))

    def read_tail(self, length: int) -> TailRead:
        """The last ``length`` bytes."""
        assert self._version is not None
        size = self._version.size
        start = max(0, size - length)
        return TailRead(self.read_range(start=start, end=size), start, self._version)

    def read_range(self, *, start: int, end: int) -> bytes:
        """Exactly ``[start, end)``: one positional read into one buffer (no chunks to join)."""
        self._check_range(start, end)
        if end == start:
            return b""
        data = _FileRange(self._fd, start, end, self._url).read()
        while len(data) < end - start:  # a partial read (rare): read on
            more = _FileRange(self._fd, start + len(data), end, self._url).read()
            if not more:
                raise SourceError(
                    f"the file ended after {len(data)} of {end - start} bytes of the range "
                    "(truncated while open?)",
                    url=self._url,
                    range=(start, end),
                )
            data += more
        return data

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """A stream over ``[start, end)``."""
        self._check_range(start, end)
        return _FileRange(self._fd, start, end, self._url)

    def close(self) -> None:
        """Close the file descriptor."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self) -> None:
        if getattr(self, "_fd", -1) >= 0:
            # Not contextlib.suppress: at interpreter exit the module may be gone already.
            try:  # noqa: SIM105
                self.close()
            except Exception:
                pass
