"""MemberSource: a member of an open archive used as the byte source of an inner archive.

A stored, unencrypted inner archive gets true random access: each range maps to a range of
the outer object, through the outer archive's block cache and request plan. A compressed or
encrypted one can only be decoded in order, so it is decoded once, into a spooled temporary
file (in memory up to 64 MiB, then on disk), and served from there.
"""

from __future__ import annotations

import io
import threading
from typing import TYPE_CHECKING

from fastzips3._format.entry import ZipEntry
from fastzips3.archive import ZipArchive
from fastzips3.sources.base import BaseSource, ObjectVersion, RangeStream, TailRead

if TYPE_CHECKING:
    import tempfile

__all__ = ["MemberSource"]

_SPOOL_IN_MEMORY = 64 << 20


class MemberSource(BaseSource):
    """The content of ``entry`` in ``archive``, as a :class:`~fastzips3.sources.base.Source`."""

    remote = False

    def __init__(self, archive: ZipArchive, entry: ZipEntry) -> None:
        super().__init__(f"{archive.url}!/{entry.name}")
        self._archive = archive
        self._entry = entry
        self._lock = threading.Lock()
        self._spool: tempfile.SpooledTemporaryFile[bytes] | None = None
        self._pin(
            ObjectVersion(
                size=entry.file_size, etag=f"{archive.etag}/{entry.header_offset}/{entry.crc:08x}"
            )
        )
        self._direct = entry.compress_type == 0 and not entry.is_encrypted
        self._data_start = -1
        self._data_end = -1

    def _locate(self) -> None:
        """Where the stored member's bytes are in the outer object (one local header read)."""
        if self._data_start < 0:
            self._data_start, self._data_end = self._archive.data_span(self._entry)

    def _spooled(self) -> tempfile.SpooledTemporaryFile[bytes]:
        import shutil
        import tempfile
        import weakref

        with self._lock:
            if self._spool is None:
                spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
                weakref.finalize(self, spool.close)  # a dropped source never leaks its file
                try:
                    with self._archive.open(self._entry) as reader:
                        shutil.copyfileobj(reader, spool, 1 << 20)
                except BaseException:
                    spool.close()
                    raise
                self._spool = spool
            return self._spool

    def _bytes(self, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        if self._direct:
            self._locate()
            return self._archive.read_raw_range(
                self._data_start + start,
                self._data_start + end,
                lo=self._entry.header_offset,
                hi=self._data_end,
            )
        spool = self._spooled()
        with self._lock:
            spool.seek(start)
            return spool.read(end - start)

    def read_tail(self, length: int) -> TailRead:
        """The last ``length`` bytes of the member."""
        size = self._entry.file_size
        start = max(0, size - length)
        assert self._version is not None
        return TailRead(self._bytes(start, size), start, self._version)

    def open_range(self, *, start: int, end: int) -> RangeStream:
        """``[start, end)`` of the member."""
        self._check_range(start, end)
        return io.BytesIO(self._bytes(start, end))

    def close(self) -> None:
        """Drop the spooled copy, if any."""
        with self._lock:
            if self._spool is not None:
                self._spool.close()
                self._spool = None
