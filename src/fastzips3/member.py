"""MemberReader: one archive member as a real binary file (io.BufferedIOBase).

Reading streams the member's compressed bytes from its local header to its last byte (one GET
when it fits in a prefetch chunk, parallel GETs when larger), decodes with a bounded decoder
(on its own thread for large compressed members), and checks size and CRC-32 on the read that
reaches the end. Stored members seek through the block cache (a cold block costs one request,
a warm one none); compressed members restart from their first byte on a backward seek.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from fastzips3._codecs.crc import crc32
from fastzips3._codecs.crypto import crc_is_checked, decryption_pull
from fastzips3._codecs.zran import Checkpoint, DeflateIndex
from fastzips3._decode import READ_AHEAD_THRESHOLD, DecodedStream
from fastzips3._engine.engine import Engine, SequentialReader
from fastzips3._format.entry import ZipEntry
from fastzips3._format.plan import (
    LOCAL_HEADER_MARGIN,
    Directory,
    MemberLayout,
    member_layout,
    member_request,
)
from fastzips3._format.records import LocalFileHeader
from fastzips3._io import seek_target
from fastzips3.errors import (
    CRCMismatchError,
    SizeMismatchError,
    TruncatedError,
)

__all__ = ["MemberReader", "crc_mismatch", "locate_member", "read_held"]

_OUT_CHUNK = 1 << 20
#: Read-ahead cap for compressed members: decoding (~650 MB/s of output with isal, so ~200 MB/s
#: of input at 3:1) is slower than 3 GETs in flight deliver; more would only hold memory.
_COMPRESSED_AHEAD = 40 << 20
_LZMA_EOS_FLAG = 0x2
#: Contiguous reads (after a seek) before a stored member switches back to streaming.
_SEQUENTIAL_AFTER = 4


def locate_member(engine: Engine, directory: Directory, entry: ZipEntry) -> MemberLayout:
    """Parse ``entry``'s local header with one small GET through the block cache."""
    start = entry.header_offset
    limit = min(directory.data_limit(entry), directory.size)
    want = LocalFileHeader.SIZE + len(entry.raw_name) + len(entry.extra) + LOCAL_HEADER_MARGIN
    head = b""
    for _ in range(3):
        head = engine.read(start, min(start + want, limit), lo=start, hi=limit)
        layout = member_layout(entry, directory, head)
        if isinstance(layout, MemberLayout):
            return layout
        if layout <= len(head):
            break
        want = layout
    raise TruncatedError(
        f"member {entry.name!r}: its local header runs past the next record",
        offset=start,
        record="local header",
    )


def crc_mismatch(entry: ZipEntry, actual: int) -> CRCMismatchError:
    """The error for ``entry`` whose content has CRC-32 ``actual``, not the declared one."""
    return CRCMismatchError(
        f"member {entry.name!r}: CRC-32 is {actual:08x}, the archive declares "
        f"{entry.crc:08x}: the data is corrupt",
        name=entry.name,
        expected=entry.crc,
        actual=actual,
    )


class MemberReader(io.BufferedIOBase):
    """A read-only, seekable binary file over one member.

    ``verify`` (default True) checks size and CRC-32 on the read that reaches the end, and
    raises :class:`~fastzips3.errors.CRCMismatchError` or
    :class:`~fastzips3.errors.SizeMismatchError`.
    """

    def __init__(
        self,
        engine: Engine,
        directory: Directory,
        entry: ZipEntry,
        *,
        verify: bool = True,
        deflate_backend: str | None = None,
        password: bytes | None = None,
        index: DeflateIndex | None = None,
        on_index: Callable[[DeflateIndex], None] | None = None,
        index_spacing: int | None = None,
    ) -> None:
        super().__init__()
        # What close() and __repr__ touch exists before anything can raise: a half-built
        # reader is still finalized (IOBase.__del__ calls close()).
        self._stream: DecodedStream | None = None
        self._buffer = b""
        self._buffer_pos = 0
        self._pos = 0
        self._size = entry.file_size
        self.name = entry.name
        self.entry = entry
        self._engine = engine
        self._directory = directory
        self._verify = verify
        self._backend = deflate_backend
        self._password = password
        # A checkpoint index lets a plain deflate member restart near any position.
        self._index = index if entry.compress_type == 8 and not entry.is_encrypted else None
        # Build an index as a by-product of this read (when asked, and none is known yet).
        self._on_index = on_index if self._index is None else None
        self._index_spacing = index_spacing
        # Encrypted members decrypt in order; they never take the random-access path.
        self._seekable_raw = entry.compress_type == 0 and not entry.is_encrypted
        self._check_crc = verify and crc_is_checked(entry)
        self._crc = 0
        self._crc_pos = 0
        self._checked = False
        self._random = False
        self._run = 0
        self._last_end = -1
        # Fail on a missing password, an unsupported method or a missing codec before any
        # request.
        if entry.is_encrypted and password is None:
            decryption_pull(entry, lambda n: b"", None)
        DecodedStream.check_method(entry.real_method, name=entry.name)
        self._layout, raw = self._open_layout()
        self._stream = self._decoded(raw, produced=0)

    # --- opening ---------------------------------------------------------------------------

    def _raw(
        self,
        start: int,
        end: int,
        *,
        initial_ahead: int | None = None,
        first_end: int | None = None,
    ) -> SequentialReader:
        """A stream of this member's bytes. A compressed member is decoded slower than it
        arrives, so its read-ahead is capped lower: more would only hold memory."""
        compressed = self.entry.compress_type != 0 or self.entry.is_encrypted
        return self._engine.sequential(
            start,
            end,
            initial_ahead=initial_ahead,
            max_ahead=_COMPRESSED_AHEAD if compressed else None,
            first_end=first_end,
        )

    def _open_layout(self) -> tuple[MemberLayout, SequentialReader]:
        """One GET from the local header on: parse the header, keep streaming the data."""
        request = member_request(self.entry, self._directory)
        raw = self._raw(request.start, request.end)
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

    def _decoded(
        self, raw: SequentialReader, *, produced: int, checkpoint: Checkpoint | None = None
    ) -> DecodedStream:
        entry = self.entry
        method = entry.real_method
        big = self._layout.data_end - raw.pos > READ_AHEAD_THRESHOLD
        password = self._password
        return DecodedStream(
            raw,
            method=method,
            name=self.name,
            size=self._size,
            produced=produced,
            deflate_backend=self._backend,
            decrypt=(lambda pull: decryption_pull(entry, pull, password))
            if entry.is_encrypted
            else None,
            read_ahead=(method != 0 or entry.is_encrypted) and big,
            ends_at_size=method == 14 and not entry.flag_bits & _LZMA_EOS_FLAG,
            checkpoint=checkpoint,
            index_spacing=self._index_spacing
            if self._on_index is not None and produced == 0 and checkpoint is None
            else None,
        )

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
        target = seek_target(offset, whence, pos=self._pos, size=self._size)
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target == self._pos:
            return target
        buffered_start = self._pos - self._buffer_pos
        if not self._random and buffered_start <= target <= buffered_start + len(self._buffer):
            self._buffer_pos = target - buffered_start
            self._pos = target
        elif self._seekable_raw:
            self._close_stream()
            self._random = True
            self._run = 0
            self._pos = target
        else:
            checkpoint = self._index.at(target) if self._index is not None else None
            if checkpoint is not None and (target < self._pos or checkpoint.out_pos > self._pos):
                self._jump(checkpoint)
            elif target < self._pos:
                self._restart()
            self._skip(target - self._pos)
        return self._pos

    def _jump(self, checkpoint: Checkpoint) -> None:
        """Restart decoding at an index checkpoint: one GET from there, no decoding before it."""
        self._close_stream()
        # The first GET stops two checkpoints on (at most two spacings of output): a seek is
        # usually followed by a short read. Reading on fetches the rest, in parallel.
        assert self._index is not None
        points = self._index.checkpoints
        later = [cp.in_pos for cp in points if cp.out_pos > checkpoint.out_pos][:2]
        first_end = self._layout.data_start + later[-1] if len(later) == 2 else None
        raw = self._raw(
            self._layout.data_start + checkpoint.raw_start,
            self._layout.data_end,
            first_end=first_end,
        )
        self._stream = self._decoded(raw, produced=checkpoint.out_pos, checkpoint=checkpoint)
        self._pos = checkpoint.out_pos
        self._crc = 0
        # The CRC covers the whole content: it can only be checked on a read from the start.
        self._crc_pos = 0 if checkpoint.out_pos == 0 else -1

    def _restart(self) -> None:
        """Back to the first byte of a compressed member (a new GET)."""
        self._close_stream()
        raw = self._raw(self._layout.data_start, self._layout.data_end)
        self._stream = self._decoded(raw, produced=0)
        self._pos = 0
        self._crc = 0
        self._crc_pos = 0

    def _skip(self, count: int) -> None:
        while count > 0:
            data = self.read1(min(count, _OUT_CHUNK))
            if not data:
                return
            count -= len(data)

    def _close_stream(self) -> None:
        self._buffer = b""
        self._buffer_pos = 0
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.close()

    def read(self, size: int | None = -1, /) -> bytes:
        """Up to ``size`` bytes (all the rest when negative or None)."""
        self._check_open()
        if size is None or size < 0:
            size = max(0, self._size - self._pos) + 1
        stream = self._stream
        left = self._size - self._pos
        if (
            size >= left > 0
            and stream is not None
            and stream.direct
            and not self._random
            and self._buffer_pos >= len(self._buffer)
        ):
            # The rest of the member at once: decoded straight into one buffer on this thread.
            data = stream.take(left)
            if len(data) < left:
                raise SizeMismatchError(
                    f"member {self.name!r} ended at {self._pos + len(data)} of {self._size} bytes",
                    name=self.name,
                    expected=self._size,
                    actual=self._pos + len(data),
                )
            self._deliver(data)
            return data
        # Views into the decoded chunks, joined once: no intermediate copy of each piece (an
        # 8 MiB read over 1 MiB chunks held 8 MiB of copies next to the joined result).
        pieces: list[bytes | memoryview] = []
        got = 0
        while got < size:
            piece = self._piece(size - got)
            if not piece:
                break
            pieces.append(piece)
            got += len(piece)
        if len(pieces) == 1:
            return bytes(pieces[0]) if isinstance(pieces[0], memoryview) else pieces[0]
        return b"".join(pieces)

    def read1(self, size: int = -1, /) -> bytes:
        """Up to ``size`` bytes with at most one fetch or decode step."""
        piece = self._piece(size)
        return bytes(piece) if isinstance(piece, memoryview) else piece

    def _piece(self, size: int) -> bytes | memoryview:
        """:meth:`read1`, but a part of a decoded chunk comes as a view into it (no copy)."""
        self._check_open()
        if size < 0:
            size = _OUT_CHUNK
        if size == 0:
            return b""
        if self._pos >= self._size:
            if not self._random:
                self._check_end()
            return b""
        if self._random:
            return self._read_random(size)
        if self._buffer_pos >= len(self._buffer):
            self._fill()
        buffer, start = self._buffer, self._buffer_pos
        data: bytes | memoryview = (
            buffer
            if start == 0 and size >= len(buffer)
            else memoryview(buffer)[start : start + size]
        )
        self._buffer_pos += len(data)
        self._deliver(data)
        return data

    def _fill(self) -> None:
        stream = self._stream
        assert stream is not None, "the sequential path always has a stream"
        self._buffer = stream.next()
        self._buffer_pos = 0
        if not self._buffer:  # the stream verified its end before our position reached it
            raise SizeMismatchError(
                f"member {self.name!r} ended at {self._pos} of {self._size} bytes",
                name=self.name,
                expected=self._size,
                actual=self._pos,
            )

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
            self._fill()
        return self._buffer[self._buffer_pos :]

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into ``buffer``; return the count."""
        self._check_open()
        view = memoryview(buffer).cast("B")
        got = 0
        while got < len(view):
            n = self.readinto1(view[got:])
            if not n:
                break
            got += n
        return got

    def readinto1(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        """Read into ``buffer`` with at most one step; return the count.

        With the compiled core, a deflate member with no decode thread running ahead is
        decoded straight into ``buffer``.
        """
        self._check_open()
        view = memoryview(buffer).cast("B")
        stream = self._stream
        if (
            stream is not None
            and stream.direct
            and not self._random
            and self._buffer_pos >= len(self._buffer)
            and len(view) > 0
            and self._pos < self._size
        ):
            n = stream.next_into(view[: self._size - self._pos])
            if not n:
                raise SizeMismatchError(
                    f"member {self.name!r} ended at {self._pos} of {self._size} bytes",
                    name=self.name,
                    expected=self._size,
                    actual=self._pos,
                )
            self._deliver(view[:n])
            return n
        data = self.read1(len(view))
        view[: len(data)] = data
        return len(data)

    def _deliver(self, data: bytes | memoryview) -> None:
        if self._check_crc and self._pos == self._crc_pos:
            stream = self._stream
            if stream is None or stream.fused_crc is None:
                self._crc = crc32(data, self._crc)  # type: ignore[arg-type]
            self._crc_pos += len(data)
        self._pos += len(data)
        if self._pos >= self._size and not self._random:
            self._check_end()

    def _check_end(self) -> None:
        """On the read that reaches the end: nothing may follow, and the CRC must match."""
        if self._checked:
            return
        stream = self._stream
        if stream is not None and self._buffer_pos >= len(self._buffer):
            extra = stream.next(1)
            built = stream.indexer.index if stream.indexer is not None else None
            if not extra and built is not None and self._on_index is not None:
                self._on_index(built)
            if extra:
                raise SizeMismatchError(
                    f"member {self.name!r} decodes to more than its declared {self._size} bytes",
                    name=self.name,
                    expected=self._size,
                    actual=self._size + len(extra),
                )
        if self._check_crc and self._crc_pos == self._size:
            fused = stream.fused_crc if stream is not None else None
            actual = self._crc if fused is None else fused
            if actual != self.entry.crc:
                raise crc_mismatch(self.entry, actual)
        self._checked = True

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
            # The caller reads in order again: stream the rest, starting with a small window.
            self._random = False
            raw = self._raw(
                layout.data_start + self._pos,
                layout.data_end,
                initial_ahead=2 * self._engine.block_size,
            )
            self._stream = self._decoded(raw, produced=self._pos)
        return data

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def threads_alive(self) -> int:
        """Prefetch and decode threads this reader still runs (0 after close)."""
        return 0 if self._stream is None else self._stream.threads_alive

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed member file")

    def close(self) -> None:
        """Stop prefetch and decode threads and release connections. Early close is fine."""
        if not self.closed:
            self._close_stream()
        super().close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else f"pos={self._pos}"
        return f"<MemberReader {self.name!r} size={self._size} {state}>"


class _HeldData:
    """A member's compressed bytes already in memory, read as a stream (no request)."""

    threads_alive = 0

    def __init__(self, view: memoryview) -> None:
        self._view = view
        self.pos = 0

    def read(self, size: int) -> bytes:
        piece = bytes(self._view[self.pos : self.pos + size])
        self.pos += len(piece)
        return piece

    def close(self) -> None:
        self._view = memoryview(b"")


def read_held(
    entry: ZipEntry,
    directory: Directory,
    data: bytes,
    base: int,
    *,
    verify: bool = True,
    deflate_backend: str | None = None,
    password: bytes | None = None,
) -> bytes:
    """The whole content of ``entry`` whose local header and data all lie in ``data`` (the
    object's bytes from offset ``base``), with the checks a :class:`MemberReader` makes (size,
    nothing after the end, CRC-32, password) and no request.

    The path of coalesced reads: one GET brings many small members, and each is decoded from
    it at a fraction of a reader's set-up cost.
    """
    if entry.is_encrypted and password is None:
        decryption_pull(entry, lambda n: b"", None)  # raises the password error
    DecodedStream.check_method(entry.real_method, name=entry.name)
    view = memoryview(data)
    start = entry.header_offset - base
    limit = min(directory.data_limit(entry), directory.size) - base
    if start < 0 or limit > len(view):
        raise ValueError(f"member {entry.name!r} is not inside the held bytes")
    layout = member_layout(entry, directory, view[start:limit].tobytes())
    if not isinstance(layout, MemberLayout):
        raise TruncatedError(
            f"member {entry.name!r}: its local header runs past the next record",
            offset=entry.header_offset,
            record="local header",
        )
    method = entry.real_method
    raw = _HeldData(view[layout.data_start - base : layout.data_end - base])
    stream = DecodedStream(
        raw,  # type: ignore[arg-type]  # the part of SequentialReader it uses
        method=method,
        name=entry.name,
        size=entry.file_size,
        deflate_backend=deflate_backend,
        decrypt=(lambda pull: decryption_pull(entry, pull, password))
        if entry.is_encrypted
        else None,
        ends_at_size=method == 14 and not entry.flag_bits & _LZMA_EOS_FLAG,
    )
    try:
        content = stream.take(entry.file_size) if entry.file_size else b""
        if len(content) < entry.file_size:
            raise SizeMismatchError(
                f"member {entry.name!r} ended at {len(content)} of {entry.file_size} bytes",
                name=entry.name,
                expected=entry.file_size,
                actual=len(content),
            )
        extra = stream.next(1)
        if extra:
            raise SizeMismatchError(
                f"member {entry.name!r} decodes to more than its declared {entry.file_size} bytes",
                name=entry.name,
                expected=entry.file_size,
                actual=entry.file_size + len(extra),
            )
        if verify and crc_is_checked(entry):
            fused = stream.fused_crc
            actual = crc32(content, 0) if fused is None else fused
            if actual != entry.crc:
                raise crc_mismatch(entry, actual)
    finally:
        stream.close()
    return content
