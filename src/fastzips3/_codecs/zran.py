"""Random access inside deflate streams: checkpoints (zlib's zran technique) and their use.

A checkpoint records, at a deflate block boundary, the position in the compressed stream (a
byte offset plus 0-7 bits already used of the byte before it), the position in the output, and
the 32 KiB of output before it (the window back-references may reach into). Decoding can
restart there: prime the inflater with the leftover bits, set the window as its dictionary, and
inflate on.

Python's ``zlib`` module exposes neither block boundaries (``Z_BLOCK``) nor priming, so
building checkpoints and starting inside a byte need the compiled core (zlib's ``Z_BLOCK`` and
ISA-L from Cython, without the GIL). Without it (:func:`zran_available` is False), checkpoints
on a byte boundary (SOZip's, and most built ones) still work through python-isal or zlib with
the window as a dictionary: :func:`usable` says which.

Pure: no I/O. Errors are :class:`~fastzips3.errors.DecompressionError`.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from fastzips3._accel import CORE
from fastzips3._codecs.base import IN_CHUNK, Decoder, Pull
from fastzips3._codecs.deflate import DeflateDecoder
from fastzips3.errors import UnsupportedError

__all__ = [
    "WINDOW",
    "Checkpoint",
    "DeflateIndex",
    "IndexingDeflateDecoder",
    "PieceOutput",
    "Segment",
    "checkpoint_decoder",
    "core_piece",
    "crc32_combine",
    "usable",
    "zran_available",
]

WINDOW = 32 << 10

#: A piece of compressed input read in place: ``(buffer, start, end)``.
Segment = tuple[bytes, int, int]


def zran_available() -> bool:
    """True when checkpoints can be built and used at any bit (the compiled core is active)."""
    return CORE is not None


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A place to restart decoding: output position, compressed position, leftover bits.

    The compressed stream resumes at bit ``bits`` of byte ``in_pos - 1`` (counted from the
    member data's first byte) when ``bits`` > 0, else at byte ``in_pos``; ``window`` is the
    output just before ``out_pos`` (up to 32 KiB).
    """

    out_pos: int
    in_pos: int
    bits: int
    window: bytes

    @property
    def raw_start(self) -> int:
        """The first compressed byte decoding from here needs."""
        return self.in_pos - (1 if self.bits else 0)


def usable(checkpoint: Checkpoint) -> bool:
    """Whether decoding can start at ``checkpoint`` here (inside a byte needs the core)."""
    return checkpoint.bits == 0 or CORE is not None


@dataclass(frozen=True, slots=True)
class DeflateIndex:
    """Checkpoints of one member, in output order; the first is always at 0."""

    checkpoints: tuple[Checkpoint, ...]
    size: int
    compress_size: int
    spacing: int

    def at(self, out_pos: int) -> Checkpoint:
        """The last usable checkpoint (:func:`usable`) at or before ``out_pos``."""
        lo, hi = 0, len(self.checkpoints) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.checkpoints[mid].out_pos <= out_pos:
                lo = mid
            else:
                hi = mid - 1
        while lo > 0 and not usable(self.checkpoints[lo]):
            lo -= 1
        return self.checkpoints[lo]

    _HEAD = struct.Struct("<QQQI")
    _POINT = struct.Struct("<QQBI")

    def to_bytes(self) -> bytes:
        """A compact, compressed form (see :meth:`from_bytes`)."""
        parts = [
            self._HEAD.pack(self.size, self.compress_size, self.spacing, len(self.checkpoints))
        ]
        for cp in self.checkpoints:
            parts.append(self._POINT.pack(cp.out_pos, cp.in_pos, cp.bits, len(cp.window)))
            parts.append(cp.window)
        return zlib.compress(b"".join(parts), 6)

    @classmethod
    def from_bytes(cls, blob: bytes) -> DeflateIndex:
        """Parse :meth:`to_bytes` output; :class:`ValueError` when it is malformed."""
        try:
            raw = zlib.decompress(blob)
            size, csize, spacing, count = cls._HEAD.unpack_from(raw, 0)
            pos = cls._HEAD.size
            points = []
            for _ in range(count):
                out_pos, in_pos, bits, wlen = cls._POINT.unpack_from(raw, pos)
                pos += cls._POINT.size
                window = raw[pos : pos + wlen]
                if len(window) != wlen or bits > 7 or wlen > WINDOW:
                    raise ValueError("malformed checkpoint")
                pos += wlen
                points.append(Checkpoint(out_pos, in_pos, bits, window))
        except (zlib.error, struct.error) as exc:
            raise ValueError(f"malformed index: {exc}") from exc
        if pos != len(raw) or not points or points[0].out_pos != 0:
            raise ValueError("malformed index")
        pairs = itertools.pairwise(points)
        if any(b.out_pos <= a.out_pos or b.in_pos < a.in_pos for a, b in pairs):
            raise ValueError("checkpoints out of order")
        return cls(tuple(points), size, csize, spacing)


class IndexingDeflateDecoder(Decoder):
    """Raw deflate through the compiled core's ``Z_BLOCK`` inflater that records checkpoints
    every ``spacing`` output bytes (CRC-32 fused, :attr:`fused_crc`).

    Used to build an index (explicitly, or as a by-product of a full read); ``index`` is set
    once the stream has been decoded to its end. Raises :class:`UnsupportedError` without the
    compiled core.
    """

    def __init__(self, pull: Pull, *, spacing: int, name: str | None = None) -> None:
        super().__init__(pull, name=name)
        if CORE is None:
            raise UnsupportedError(
                "building a checkpoint index needs fastzips3's compiled core (it is not active)"
            )
        self._z = CORE.BlockInflater(name=name)
        self._spacing = spacing
        self._produced = 0
        self._window = b""
        self._points = [Checkpoint(0, 0, 0, b"")]
        self._last = 0
        self._input_done = False
        self.index: DeflateIndex | None = None

    def read(self, max_length: int) -> bytes:
        z = self._z
        while not z.ended:
            if z.needs_input and not self._input_done:
                data = self._pull(IN_CHUNK)
                if data:
                    z.feed(data)
                else:
                    self._input_done = True
            used_before = z.total_in
            out: bytes = z.inflate(max_length)
            if out:
                self._produced += len(out)
                self._window = (
                    out[-WINDOW:] if len(out) >= WINDOW else (self._window + out)[-WINDOW:]
                )
            data_type: int = z.data_type
            at_boundary = data_type & 128 and not data_type & 64
            since = self._produced - self._last
            # Prefer a byte-aligned boundary (the fastest inflater can start there with only a
            # dictionary); take any boundary once half a spacing more has gone by without one.
            aligned = not data_type & 7
            if (
                at_boundary
                and since >= self._spacing
                and (aligned or since >= self._spacing * 3 // 2)
            ):
                self._points.append(
                    Checkpoint(self._produced, z.total_in, data_type & 7, self._window)
                )
                self._last = self._produced
            if z.ended:
                self.index = DeflateIndex(
                    tuple(self._points), self._produced, z.total_in, self._spacing
                )
            if out:
                return out
            if self._input_done and z.total_in == used_before:
                return b""  # the input ended before the stream did
        return b""

    @property
    def fused_crc(self) -> int | None:
        crc: int = self._z.crc
        return crc

    @property
    def eof(self) -> bool:
        return bool(self._z.ended)


def core_piece(
    data: Sequence[Segment], size: int, checkpoint: Checkpoint, *, name: str | None = None
) -> bytes | None:
    """Exactly ``size`` bytes decoded from ``checkpoint`` by the compiled core (ISA-L, without
    the GIL, on the segments in place), or None when the core is not active.

    Raises :class:`~fastzips3.errors.DecompressionError` when the data is corrupt or ends
    early.
    """
    if CORE is None:
        return None
    views = [memoryview(buf)[lo:hi] for buf, lo, hi in data]
    out: bytes = CORE.inflate_piece(views, size, checkpoint.window, checkpoint.bits, name=name)
    return out


class PieceOutput:
    """A member's whole content as one bytes object that pieces decode into, in place, from
    several threads (the compiled core: ISA-L without the GIL); each piece's CRC-32 comes back
    to be combined (:func:`crc32_combine`). Needs the core (:func:`zran_available`)."""

    def __init__(self, size: int) -> None:
        if CORE is None:
            raise UnsupportedError("decoding into one output needs fastzips3's compiled core")
        self._out = CORE.Output(size)

    def decode(
        self, data: Sequence[Segment], checkpoint: Checkpoint, size: int, *, name: str | None
    ) -> int:
        """Decode ``size`` bytes from ``checkpoint`` to their place; their CRC-32."""
        views = [memoryview(buf)[lo:hi] for buf, lo, hi in data]
        crc: int = self._out.inflate_piece(
            views, checkpoint.out_pos, size, checkpoint.window, checkpoint.bits, name=name
        )
        return crc

    def take(self) -> bytes:
        """The filled content (once every piece is done)."""
        out: bytes = self._out.take()
        return out


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from A's CRC, B's CRC and B's length."""
    if CORE is not None:
        combined: int = CORE.crc32_combine(crc1, crc2, len2)
        return combined
    raise UnsupportedError("crc32_combine needs fastzips3's compiled core")


def checkpoint_decoder(
    pull: Pull, checkpoint: Checkpoint, *, name: str | None = None, backend: str | None = None
) -> Decoder:
    """A decoder that starts at ``checkpoint`` (``pull`` starts at its ``raw_start``).

    The compiled core starts anywhere; without it, only on a byte boundary (:func:`usable`),
    else :class:`UnsupportedError`.
    """
    return DeflateDecoder(
        pull, name=name, backend=backend, zdict=checkpoint.window, bits=checkpoint.bits
    )
