"""RemoteFile: a seekable, read-only raw file over any source, for zipfile and other readers.

``zipfile.ZipFile(RemoteFile("s3://bucket/big.zip"))`` lists a ZIP64 archive with one request:
opening the file makes one suffix GET whose bytes seed the block cache, and zipfile's reads of
the end records and the central directory are served from it.
"""

from __future__ import annotations

import io
import os

from typing_extensions import Unpack

from zipseek._engine.engine import Engine
from zipseek._engine.stats import Stats
from zipseek.options import OpenOptions, split_options
from zipseek.sources.base import Source
from zipseek.sources.resolve import open_source

__all__ = ["RemoteFile"]


class RemoteFile(io.RawIOBase):
    """A read-only binary file over an object, served through a block cache.

    A read fetches from its own first byte to the end of the last cache block it touches, so a
    sequence of reads never fetches bytes before what was asked, and at most one block after.
    """

    def __init__(
        self, target: str | os.PathLike[str] | Source, **options: Unpack[OpenOptions]
    ) -> None:
        super().__init__()
        source_options, engine_config, _ = split_options(options)
        self._engine = Engine(open_source(target, **source_options), engine_config)
        try:
            self._engine.read_tail()
        except BaseException:
            self._engine.close()
            raise
        self._size = self._engine.size
        self._pos = 0
        self.name = self._engine.url

    @property
    def stats(self) -> Stats:
        """Requests and bytes this file has cost so far."""
        return self._engine.stats

    @property
    def size(self) -> int:
        """The object's size."""
        return self._size

    @property
    def etag(self) -> str | None:
        """The pinned ETag."""
        return self._engine.version.etag

    def readable(self) -> bool:
        """Always True."""
        return True

    def seekable(self) -> bool:
        """Always True."""
        return True

    def tell(self) -> int:
        """The current position."""
        self._check()
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move the position (past the end is allowed; reads there return ``b""``)."""
        self._check()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise OSError(22, f"negative seek position {target}")
        self._pos = target
        return target

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Fill ``buffer`` from the current position; 0 at the end."""
        self._check()
        end = min(self._size, self._pos + len(buffer))
        if end <= self._pos:
            return 0
        data = self._engine.read(self._pos, end, lo=self._pos, hi=self._size)
        n = len(data)
        memoryview(buffer).cast("B")[:n] = data
        self._pos += n
        return n

    def readall(self) -> bytes:
        """Everything from the current position to the end."""
        self._check()
        data = self._engine.read(self._pos, self._size, lo=self._pos, hi=self._size)
        self._pos = self._size
        return data

    def _check(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed RemoteFile")

    def close(self) -> None:
        """Release the source and the cache."""
        if not self.closed:
            self._engine.close()
        super().close()

    def __repr__(self) -> str:
        return f"<RemoteFile {self.name!r} size={self._size}>"
