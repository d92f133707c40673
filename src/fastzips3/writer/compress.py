"""Compressing members: stored, deflate (ISA-L, in independent pieces on several threads) and
zstd, each with the CRC-32 of the input.

Deflate levels follow :mod:`zipfile` (0-9) and map onto ISA-L's four levels:

======================  ============  ================================================
zipfile / ``zip -N``    ISA-L level   what it is
======================  ============  ================================================
0                       0             fastest (static Huffman; ``-0`` in the CLI stores)
1, 2, 3                 1             fast, the ratio of zlib's level 1-2
4, 5, 6 (the default)   2             zlib's level 3-5 ratio at 3-5x its speed
7, 8, 9                 3             the best ratio ISA-L makes
======================  ============  ================================================

A long member is cut into pieces (4 MiB by default); each piece is compressed on its own, primed
with the 32 KiB before it as the dictionary (so the ratio barely changes), and ends with a sync
flush, the last with the final block: their outputs, in order, make one deflate stream (pigz's
method). The CRC-32s of the pieces are combined with ``crc32_combine``. Without the compiled
core the pieces go through python-isal's ``isal_zlib`` (or zlib) the same way.
"""

from __future__ import annotations

import collections
import errno
import os
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from typing import Any

from fastzips3._accel import CORE
from fastzips3._format.write import METHOD_DEFLATE, METHOD_STORED, METHOD_ZSTD
from fastzips3.errors import CodecNotInstalledError, UnsupportedMethodError
from fastzips3.sinks.crc import crc32, crc32_combine

__all__ = [
    "DEFAULT_PIECE",
    "PieceCompressor",
    "compress_whole",
    "deflate_piece",
    "isal_level",
    "method_of",
]

DEFAULT_PIECE = 4 << 20
_WINDOW = 32768


def isal_level(level: int | None) -> int:
    """ISA-L's level (0-3) for a zipfile level (0-9, None: 6); see the module docstring."""
    if level is None:
        level = 6
    if not 0 <= level <= 9:
        raise ValueError(f"compression levels are 0-9, not {level}")
    if level == 0:
        return 0
    return 1 if level <= 3 else 2 if level <= 6 else 3


def method_of(compression: int | str) -> int:
    """The method id of ``compression``: a zipfile constant (0, 8, 93) or a name."""
    names = {"stored": METHOD_STORED, "deflate": METHOD_DEFLATE, "deflated": METHOD_DEFLATE}
    names["zstd"] = METHOD_ZSTD
    if isinstance(compression, str):
        try:
            return names[compression.lower()]
        except KeyError:
            raise ValueError(f"unknown compression {compression!r}; use {sorted(names)}") from None
    if compression not in (METHOD_STORED, METHOD_DEFLATE, METHOD_ZSTD):
        raise UnsupportedMethodError(
            f"fastzips3 writes stored (0), deflate (8) and zstd (93), not method {compression}",
            method=compression,
        )
    return compression


def _pure_deflate_piece(data: bytes, level: int, dictionary: bytes, final: bool) -> bytes:
    try:
        from isal import isal_zlib
    except ImportError:  # pragma: no cover - isal is a dependency on CPython
        zlevel = {0: 1, 1: 1, 2: 4, 3: 9}[level]
        c = (
            zlib.compressobj(zlevel, zlib.DEFLATED, -15, zdict=dictionary)
            if dictionary
            else (zlib.compressobj(zlevel, zlib.DEFLATED, -15))
        )
        return c.compress(data) + c.flush(zlib.Z_FINISH if final else zlib.Z_SYNC_FLUSH)
    ic = (
        isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15, zdict=dictionary)
        if dictionary
        else isal_zlib.compressobj(level, isal_zlib.DEFLATED, -15)
    )
    mode = isal_zlib.Z_FINISH if final else isal_zlib.Z_SYNC_FLUSH
    return bytes(ic.compress(data) + ic.flush(mode))


def deflate_piece(
    data: bytes | bytearray | memoryview,
    level: int,
    dictionary: bytes | memoryview = b"",
    final: bool = True,
) -> tuple[bytes, int]:
    """One piece (see the module docstring): ``(compressed, crc32(data))``, GIL released."""
    if CORE is not None:
        out: tuple[bytes, int] = CORE.deflate_piece(data, level, dictionary, final)
        return out
    raw = bytes(data)
    return _pure_deflate_piece(raw, level, bytes(dictionary[-_WINDOW:]), final), crc32(raw, 0)


def _zstd_compress(data: bytes | memoryview, level: int | None) -> bytes:
    try:
        import zstandard
    except ImportError as exc:
        raise CodecNotInstalledError(
            "writing zstd members needs zstandard: pip install fastzips3[zstd]",
            method=METHOD_ZSTD,
            extra="zstd",
        ) from exc
    return bytes(zstandard.ZstdCompressor(level=3 if level is None else level).compress(data))


def compress_whole(
    data: bytes | memoryview, method: int, level: int | None
) -> tuple[bytes | memoryview, int]:
    """All of a small member at once: ``(payload, crc32(data))``."""
    if method == METHOD_DEFLATE:
        return deflate_piece(data, isal_level(level))
    crc = crc32(data, 0)
    if method == METHOD_ZSTD:
        return _zstd_compress(data, level), crc
    return data, crc


def _changed(expected: int, actual: int) -> OSError:
    return OSError(
        errno.EIO, f"the file changed while it was read: it ended at {actual}, not {expected}"
    )


def _read_and_deflate(fd: int, pos: int, n: int, back: int, level: int) -> tuple[bytes, int]:
    """One piece of a file: read (with the ``back`` bytes before it) and deflate, not final."""
    data = os.pread(fd, back + n, pos - back)
    if len(data) != back + n:
        raise _changed(pos + n, pos - back + len(data))
    view = memoryview(data)
    return deflate_piece(view[back:], level, view[:back], False)


class PieceCompressor:
    """A member of any length, compressed as it is fed, pieces in parallel on ``executor``.

    :meth:`feed` and :meth:`finish` return the compressed bytes ready so far, in order; at most
    ``max_ahead`` pieces are in flight (memory stays about ``2 * max_ahead * piece``).
    ``crc``, ``size`` (input) and ``compressed`` (output) are final after :meth:`finish`.
    """

    def __init__(
        self,
        method: int,
        level: int | None,
        executor: Executor | None,
        *,
        piece: int = DEFAULT_PIECE,
        max_ahead: int = 4,
    ) -> None:
        self.method = method
        self.crc = 0
        self.size = 0
        self.compressed = 0
        self._level = level
        self._executor = executor
        self._piece = piece
        self._max_ahead = max(1, max_ahead)
        self._buf = bytearray()
        self._window = b""
        self._queue: collections.deque[tuple[Future[tuple[bytes, int]] | None, Any, int]] = (
            collections.deque()
        )
        self._zstd: Any = None
        if method == METHOD_ZSTD:
            try:
                import zstandard
            except ImportError as exc:
                raise CodecNotInstalledError(
                    "writing zstd members needs zstandard: pip install fastzips3[zstd]",
                    method=METHOD_ZSTD,
                    extra="zstd",
                ) from exc
            threads = 0 if executor is None else max_ahead
            self._zstd = zstandard.ZstdCompressor(
                level=3 if level is None else level, threads=threads
            ).compressobj()

    def feed(self, data: bytes | memoryview) -> list[bytes | memoryview]:
        """Take ``data``; the compressed bytes ready now.

        Deflate copies nothing it need not: whole pieces of a read-only buffer (``bytes``, as
        :meth:`ZipWriter.writestr` and file reads give) go to the workers as views of it; only
        a partial piece is gathered into a buffer of its own (one copy), and a writable
        buffer's whole pieces are copied once (the caller may reuse it after ``feed``).
        """
        view = memoryview(data).cast("B")
        if not view.nbytes:
            return []
        self.size += view.nbytes
        if self.method != METHOD_DEFLATE:
            self.crc = crc32(view, self.crc)
            out: bytes | memoryview = self._zstd.compress(view) if self._zstd else bytes(view)
            self.compressed += len(out)
            return [out] if len(out) else []
        piece = self._piece
        ready: list[bytes | memoryview] = []
        if self._buf:
            take = piece - len(self._buf)
            self._buf += view[:take]
            view = view[take:]
            if len(self._buf) < piece:
                return ready
            full, self._buf = self._buf, bytearray()
            ready += self._submit(full, final=False)  # the buffer changes hands: no copy
        pos = 0
        while view.nbytes - pos >= piece:
            chunk = view[pos : pos + piece]
            ready += self._submit(chunk if view.readonly else bytes(chunk), final=False)
            pos += piece
        if pos < view.nbytes:
            self._buf = bytearray(view[pos:])
        return ready

    def finish(self) -> list[bytes | memoryview]:
        """The rest of the compressed bytes, the final block included (after the last whole
        piece, the final piece may be empty: an empty final block of 2 bytes)."""
        if self.method != METHOD_DEFLATE:
            if self._zstd is None:
                return []
            out = self._zstd.flush()
            self.compressed += len(out)
            return [out] if out else []
        piece, self._buf = self._buf, bytearray()
        ready = self._submit(piece, final=True)
        while self._queue:
            ready.append(self._pop())
        return ready

    def _submit(
        self, piece: bytes | bytearray | memoryview, *, final: bool
    ) -> list[bytes | memoryview]:
        level = isal_level(self._level)
        window = self._window
        n = memoryview(piece).nbytes
        if n >= _WINDOW:
            self._window = bytes(piece[n - _WINDOW :])
        elif n:
            self._window = (bytes(window) + bytes(piece))[-_WINDOW:]
        return self._enqueue(deflate_piece, (piece, level, window, final), n)

    def feed_file(self, fd: int, start: int, length: int) -> Iterator[bytes | memoryview]:
        """Take ``length`` bytes of the open file ``fd`` from ``start`` (positional reads:
        the file offset is not used); yields the compressed bytes as they are ready. Deflate
        reads each piece, with the 32 KiB before it as the dictionary, in the worker that
        compresses it, so the reads run in parallel too and nothing passes through this
        thread; the other methods read here, in pieces. Only :meth:`finish` may follow (the
        window is not kept)."""
        if self.method != METHOD_DEFLATE or self._buf:
            pos = start
            while pos < start + length:
                data = os.pread(fd, min(self._piece, start + length - pos), pos)
                if not data:
                    raise _changed(start + length, pos)
                yield from self.feed(data)
                pos += len(data)
            return
        level = isal_level(self._level)
        self.size += length
        for pos in range(start, start + length, self._piece):
            n = min(self._piece, start + length - pos)
            back = min(_WINDOW, pos - start)  # the member's own bytes only
            yield from self._enqueue(_read_and_deflate, (fd, pos, n, back, level), n)
        self._window = b""

    def _enqueue(
        self, fn: Callable[..., tuple[bytes, int]], args: tuple[Any, ...], n: int
    ) -> list[bytes | memoryview]:
        if self._executor is None:
            self._queue.append((None, fn(*args), n))
        else:
            self._queue.append((self._executor.submit(fn, *args), None, n))
        ready: list[bytes | memoryview] = []
        while self._queue and (
            len(self._queue) > self._max_ahead
            or self._queue[0][0] is None
            or self._queue[0][0].done()
        ):
            ready.append(self._pop())
        return ready

    def _pop(self) -> bytes:
        future, result, length = self._queue.popleft()
        out, piece_crc = future.result() if future is not None else result
        self.crc = crc32_combine(self.crc, piece_crc, length)
        self.compressed += len(out)
        return bytes(out)

    def cancel(self) -> None:
        """Drop the pieces in flight."""
        for future, _, _ in self._queue:
            if future is not None:
                future.cancel()
        self._queue.clear()
