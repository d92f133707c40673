"""MemberReader: one archive member as a real binary file (io.BufferedIOBase).

Reading streams the member's compressed bytes with one GET from its local header to its last
byte, decodes with a bounded decoder, and checks size and CRC-32 at the end of a full read.
Stored members seek through the block cache (a cold block costs one request, a warm one none);
compressed members restart from their first byte on a backward seek.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from zipseek._codecs.base import Decoder
from zipseek._codecs.registry import crc32, make_decoder
from zipseek._engine.engine import Engine, SequentialReader
from zipseek._format.entry import ZipEntry
from zipseek._format.plan import Directory, MemberLayout, member_layout, member_request
from zipseek.errors import (
    CRCMismatchError,
    EncryptedEntryError,
    SizeMismatchError,
    TruncatedError,
)

__all__ = ["MemberReader"]

_OUT_CHUNK = 1 << 20
_SEQUENTIAL_AFTER = 4


class MemberReader(io.BufferedIOBase):
    """A read-only, seekable binary file over one member.

    ``verify`` (default True) checks size and CRC-32 at the end of every full read and raises
    :class:`~zipseek.errors.CRCMismatchError` or :class:`~zipseek.errors.SizeMismatchError`.
    """

    def __init__(
        self,
        engine: Engine,
        directory: Directory,
        entry: ZipEntry,
        *,
        verify: bool = True,
        deflate_backend: str | None = None,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        if entry.is_encrypted:
            raise EncryptedEntryError(
                f"member {entry.name!r} is encrypted; zipseek cannot decrypt it yet",
                name=entry.name,
            )
        self.entry = entry
        self.name = entry.name
        self._engine = engine
        self._directory = directory
        self._verify = verify
        self._backend = deflate_backend
        self._on_close = on_close
        self._decoder: Decoder = self._new_decoder(entry.compress_type)
        self._size = entry.file_size
        self._pos = 0  # position of the next byte the caller gets
        self._produced = 0  # decoded bytes so far (sequential path)
        self._buffer = b""
        self._buffer_pos = 0
        self._crc = 0
        self._crc_pos = 0
        self._random = False
        self._finished = False
        self._run = 0
        self._last_end = -1
        self._raw: SequentialReader | None = None
        self._layout, self._raw = self._open_layout()

    # --- opening ---------------------------------------------------------------------------

    def _new_decoder(self, method: int) -> Decoder:
        return make_decoder(
            method, self._pull_raw, name=self.entry.name, deflate_backend=self._backend
        )

    def _pull_raw(self, size: int) -> bytes:
        raw = self._raw
        assert raw is not None, "the sequential path always has a stream"
        return raw.read(size)

    def _open_layout(self) -> tuple[MemberLayout, SequentialReader]:
        request = member_request(self.entry, self._directory)
        raw = self._engine.sequential(request.start, request.end)
        head = b""
        try:
            while True:
                result = member_layout(self.entry, self._directory, head)
                if isinstance(result, MemberLayout):
                    break
                needed_end = request.start + result
                if needed_end > raw.end:
                    raw.extend(min(self._directory.size, needed_end))
                more = raw.read(result - len(head))
                if not more:
                    raise TruncatedError(
                        f"member {self.name!r}: the archive ends inside its local header",
                        offset=request.start,
                        record="local header",
                    )
                head += more
            raw.extend(result.data_end)
        except BaseException:
            raw.close()
            raise
        return result, raw

    # --- io.BufferedIOBase ----------------------------------------------------------------

    def readable(self) -> bool:
        """Always True."""
        return True

    def seekable(self) -> bool:
        """Always True (compressed members restart from their start on a backward seek)."""
        return True

    def tell(self) -> int:
        """The current position in the uncompressed content."""
        self._check_open()
        return self._pos

    @property
    def size(self) -> int:
        """The member's uncompressed size."""
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to ``offset``; reading past the end returns ``b""``."""
        self._check_open()
        if whence == io.SEEK_SET:
            target = offset
        elif whence == io.SEEK_CUR:
            target = self._pos + offset
        elif whence == io.SEEK_END:
            target = self._size + offset
        else:
            raise ValueError(f"invalid whence {whence}")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target == self._pos:
            return target
        if self.entry.compress_type == 0:
            self._seek_stored(target)
        else:
            self._seek_compressed(target)
        return self._pos

    def _seek_stored(self, target: int) -> None:
        self._drop_stream()
        self._random = True
        self._run = 0
        self._pos = target

    def _seek_compressed(self, target: int) -> None:
        buffered_start = self._pos - self._buffer_pos
        buffered_end = buffered_start + len(self._buffer)
        if buffered_start <= target <= buffered_end:
            self._buffer_pos = target - buffered_start
            self._pos = target
            return
        if target < self._pos:
            self._restart()
        self._skip(target - self._pos)

    def _restart(self) -> None:
        self._drop_stream()
        self._decoder = self._new_decoder(self.entry.compress_type)
        self._raw = self._engine.sequential(self._layout.data_start, self._layout.data_end)
        self._produced = 0
        self._pos = 0
        self._crc = 0
        self._crc_pos = 0

    def _skip(self, count: int) -> None:
        while count > 0:
            data = self.read(min(count, _OUT_CHUNK))
            if not data:
                return
            count -= len(data)

    def _drop_stream(self) -> None:
        self._buffer = b""
        self._buffer_pos = 0
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def read(self, size: int | None = -1, /) -> bytes:
        """Up to ``size`` bytes (all the rest when negative or None)."""
        self._check_open()
        if size is None or size < 0:
            chunks: list[bytes] = []
            while True:
                chunk = self.read1(_OUT_CHUNK)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
        out = bytearray()
        while len(out) < size:
            chunk = self.read1(size - len(out))
            if not chunk:
                break
            out += chunk
        return bytes(out)

    def read1(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes with at most one fetch or decode step."""
        self._check_open()
        if size < 0:
            size = _OUT_CHUNK
        if size == 0:
            return b""
        if self._pos >= self._size:
            if not self._random and not self._finished:
                self._finish()
                self._check_crc()
            return b""
        if self._random:
            return self._read_random(size)
        if self._buffer_pos >= len(self._buffer):
            self._buffer = self._decode_next(max(size, 64 << 10))
            self._buffer_pos = 0
            if not self._buffer:
                return b""
        data = self._buffer[self._buffer_pos : self._buffer_pos + size]
        self._buffer_pos += len(data)
        self._deliver(data)
        return data

    def peek(self, size: int = 0, /) -> bytes:
        """Buffered bytes from the current position, without moving it."""
        self._check_open()
        if self._pos >= self._size:
            return b""
        if self._random:
            start = self._layout.data_start + self._pos
            end = min(start + max(size, 1), self._layout.data_start + self._size)
            end = min(end, self._layout.data_end)
            return self._engine.read(
                start, end, lo=self.entry.header_offset, hi=self._layout.data_end
            )
        if self._buffer_pos >= len(self._buffer):
            self._buffer = self._decode_next(max(size, 64 << 10))
            self._buffer_pos = 0
        return self._buffer[self._buffer_pos :]

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into ``buffer``; return the count."""
        data = self.read(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def readinto1(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into ``buffer`` with at most one step; return the count."""
        data = self.read1(len(buffer))
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)

    def _deliver(self, data: bytes) -> None:
        if self._verify and self._pos == self._crc_pos:
            self._crc = crc32(data, self._crc)
            self._crc_pos += len(data)
        self._pos += len(data)
        if self._pos >= self._size:
            if not self._random:
                self._finish()
            self._check_crc()

    def _check_crc(self) -> None:
        if self._verify and self._crc_pos == self._size and self._crc != self.entry.crc:
            raise CRCMismatchError(
                f"member {self.name!r}: CRC-32 is {self._crc:08x}, the archive declares "
                f"{self.entry.crc:08x}: the data is corrupt",
                name=self.name,
                expected=self.entry.crc,
                actual=self._crc,
            )

    # --- the sequential path ---------------------------------------------------------------

    def _decode_next(self, want: int) -> bytes:
        """The next decoded bytes (at most ``want``; one check byte past the declared size)."""
        left = self._size - self._produced
        out = self._decoder.read(min(want, left) if left > 0 else 1)
        if len(out) > left:
            raise SizeMismatchError(
                f"member {self.name!r} decodes to more than its declared {self._size} bytes",
                name=self.name,
                expected=self._size,
                actual=self._produced + len(out),
            )
        self._produced += len(out)
        if not out and self._produced < self._size:
            raise SizeMismatchError(
                f"member {self.name!r} holds {self._produced} bytes but declares {self._size}",
                name=self.name,
                expected=self._size,
                actual=self._produced,
            )
        return out

    def _finish(self) -> None:
        """At the end of a sequential read: make sure nothing follows the declared content."""
        if self._raw is None or self._produced < self._size:
            return
        self._decode_next(1)
        self._finished = True

    # --- the random-access path (stored members) ---------------------------------------------

    def _read_random(self, size: int) -> bytes:
        layout = self._layout
        end = min(self._pos + size, self._size)
        if layout.data_start + end > layout.data_end:
            raise SizeMismatchError(
                f"stored member {self.name!r} declares {self._size} bytes but holds "
                f"{layout.data_end - layout.data_start}",
                name=self.name,
                expected=self._size,
                actual=layout.data_end - layout.data_start,
            )
        start = self._pos
        self._run = self._run + 1 if start == self._last_end else 0
        data = self._engine.read(
            layout.data_start + start,
            layout.data_start + end,
            lo=self.entry.header_offset,
            hi=layout.data_end,
        )
        self._last_end = end
        self._deliver(data)
        if self._run >= _SEQUENTIAL_AFTER and self._pos < self._size:
            # The caller reads in order again: stream the rest with one GET.
            self._random = False
            self._produced = self._pos
            self._decoder = self._new_decoder(0)
            self._raw = self._engine.sequential(layout.data_start + self._pos, layout.data_end)
        return data

    # --- lifecycle ------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed member file")

    def close(self) -> None:
        """Release the open GET. Closing early is fine and costs nothing more."""
        if not self.closed:
            self._drop_stream()
            if self._on_close is not None:
                self._on_close()
        super().close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"pos={self._pos}"
        return f"<MemberReader {self.name!r} size={self._size} {state}>"
