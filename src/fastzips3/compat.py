"""RemoteFile: a seekable, read-only raw file over any source, for zipfile and other readers.

``zipfile.ZipFile(RemoteFile("s3://bucket/big.zip"))`` lists a ZIP64 archive with one request:
opening the file makes one suffix GET whose bytes seed the block cache, and zipfile's reads of
the end records and the central directory are served from it.

Random reads go through the block cache. When reads turn sequential, the file streams ahead
with the prefetch engine (parallel GETs, a window that grows with use), but not past the end
of the ZIP member being read: the file parses the archive's directory from bytes it already
holds, so reading one member through zipfile fetches at most one cache block outside it. Once
a sequential run has crossed into a following member (``extractall``, ``testzip``: zipfile
walking the members in order), read-ahead runs on to the central directory, across member
boundaries, so small members cost no request each. Small forward skips (a data descriptor
zipfile does not read) keep a run going. For an object that is not a ZIP archive, read-ahead
runs to the end of the object.
"""

from __future__ import annotations

import bisect
import io
import os
from typing import TYPE_CHECKING

from fastzips3._engine.engine import Engine, SequentialReader
from fastzips3._engine.stats import Stats
from fastzips3._format.plan import Directory, DirectoryPlan
from fastzips3._io import seek_target
from fastzips3.errors import EOCDNotFoundError, FormatError
from fastzips3.options import OpenOptions, split_options
from fastzips3.sources.base import Source
from fastzips3.sources.resolve import open_source

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["RemoteFile"]

#: Contiguous bytes read before the file starts reading ahead.
_SEQUENTIAL_AFTER = 512 << 10
#: A forward skip of at most this many bytes keeps a sequential run (and its stream) going.
_SKIP_AHEAD = 64 << 10


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
        self._last_end = -1
        self._run_bytes = 0
        self._run_start = 0  # where the current sequential run began
        self._stream: SequentialReader | None = None
        self._bounds: list[int] | None = None  # record starts, when the object is a ZIP
        self._bounds_known = False

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
        target = seek_target(offset, whence, pos=self._pos, size=self._size)
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
        stream = self._sequential()
        if stream is not None:
            # Whole reads, as from a file: zipfile takes a short header read for a truncated
            # archive. The stream hands out one piece at a time, and may end at a member's end.
            data = stream.read(end - self._pos)
            while len(data) < end - self._pos and stream.pos < stream.end:
                more = stream.read(end - self._pos - len(data))
                if not more:
                    break
                data += more
            if len(data) < end - self._pos:
                start = self._pos + len(data)
                data += self._engine.read(start, end, lo=start, hi=self._size)
        else:
            data = self._engine.read(self._pos, end, lo=self._pos, hi=self._size)
        n = len(data)
        memoryview(buffer).cast("B")[:n] = data
        if self._continues_run():
            self._run_bytes += n
        else:
            self._run_bytes = n
            self._run_start = self._pos
        self._pos += n
        self._last_end = self._pos
        return n

    def _continues_run(self) -> bool:
        """Whether a read at the current position continues the last one (or skips a little)."""
        return self._last_end >= 0 and 0 <= self._pos - self._last_end <= _SKIP_AHEAD

    def _sequential(self) -> SequentialReader | None:
        """The read-ahead stream if reads are sequential here, else None (block cache)."""
        stream = self._stream
        if stream is not None:
            gap = self._pos - stream.pos
            if 0 <= gap <= _SKIP_AHEAD and self._pos < stream.end:
                while gap > 0:  # bytes zipfile skips (a data descriptor): read past them
                    skipped = len(stream.read(gap))
                    if not skipped:
                        break
                    gap -= skipped
                if stream.pos == self._pos:
                    return stream
            stream.close()
            self._stream = None
        if not self._continues_run() or self._run_bytes < _SEQUENTIAL_AFTER:
            return None
        limit = self._read_ahead_limit(self._pos)
        if limit - self._pos <= self._engine.block_size:
            return None
        self._stream = self._engine.sequential(
            self._pos, limit, initial_ahead=2 * self._engine.block_size
        )
        return self._stream

    def _read_ahead_limit(self, pos: int) -> int:
        """How far reading ahead from ``pos`` may go: the next ZIP record, or the end."""
        if not self._bounds_known:
            self._bounds = self._record_starts()
            self._bounds_known = True
        if self._bounds is None:
            return pos  # a ZIP whose directory we do not hold: no read-ahead
        i = bisect.bisect_right(self._bounds, pos)
        if i >= len(self._bounds):
            return self._size
        if i >= 1 and self._run_start < self._bounds[i - 1]:
            # The run crossed into this member from the one before: members are being walked
            # in order, so read on to the central directory (the last bound).
            return self._bounds[-1]
        return self._bounds[i]

    def _record_starts(self) -> list[int] | None:
        """Local header offsets and the directory start, from bytes already cached.

        Not a ZIP archive: ``[]`` (read ahead to the end). A ZIP whose directory is not in the
        cache: None (no read-ahead, so nothing outside what zipfile reads is fetched).
        """
        cache = self._engine.cache
        tail_start = max(0, self._size - self._engine.config.tail_size)
        held = cache.get(tail_start, self._size)
        if held is None:
            return None
        plan = DirectoryPlan(self._size)
        plan.feed(tail_start, held)
        for _ in range(4):
            try:
                step = plan.step()
            except EOCDNotFoundError:
                return []
            except FormatError:
                break
            if isinstance(step, Directory):
                return sorted({*step.header_offsets, step.cd_start})
            more = cache.get(step.start, step.end)
            if more is None:
                break
            plan.feed(step.start, more)
        return None

    def readall(self) -> bytes:
        """Everything from the current position to the end."""
        self._check()
        chunks: list[bytes] = []
        while True:
            chunk = self.read(1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)

    def _check(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed RemoteFile")

    def close(self) -> None:
        """Stop any read-ahead, release the source and the cache."""
        if not self.closed:
            if self._stream is not None:
                self._stream.close()
                self._stream = None
            self._engine.close()
        super().close()

    def __repr__(self) -> str:
        return f"<RemoteFile {self.name!r} size={self._size}>"
