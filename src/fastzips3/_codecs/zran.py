"""Random access inside deflate streams: checkpoints (zlib's zran technique) and their use.

A checkpoint records, at a deflate block boundary, the position in the compressed stream (a
byte offset plus 0-7 bits already used of the byte before it), the position in the output, and
the 32 KiB of output before it (the window back-references may reach into). Decoding can
restart there: prime the inflater with the leftover bits, set the window as its dictionary, and
inflate on.

Python's ``zlib`` module exposes neither block boundaries (``Z_BLOCK``) nor ``inflatePrime``,
so this module calls the zlib library directly through ``ctypes`` (the same libz CPython's
``zlib`` links; ctypes releases the GIL during the calls, so decoders on several threads run
in parallel). Checkpoints at byte-aligned boundaries with an empty window (SOZip's) need none
of that and use the fastest inflater.

Pure: no I/O. Errors are :class:`~fastzips3.errors.DecompressionError`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import itertools
import struct
import zlib
from dataclasses import dataclass
from typing import Any

from fastzips3._codecs.base import IN_CHUNK, Decoder, Pull
from fastzips3.errors import DecompressionError, UnsupportedError

__all__ = [
    "WINDOW",
    "Checkpoint",
    "CheckpointDecoder",
    "DeflateIndex",
    "IndexingDeflateDecoder",
    "checkpoint_decoder",
    "zran_available",
]

WINDOW = 32 << 10

_Z_OK = 0
_Z_STREAM_END = 1
_Z_BUF_ERROR = -5
_Z_NO_FLUSH = 0
_Z_BLOCK = 5


class _ZStream(ctypes.Structure):
    _fields_ = [
        ("next_in", ctypes.c_void_p),
        ("avail_in", ctypes.c_uint),
        ("total_in", ctypes.c_ulong),
        ("next_out", ctypes.c_void_p),
        ("avail_out", ctypes.c_uint),
        ("total_out", ctypes.c_ulong),
        ("msg", ctypes.c_char_p),
        ("state", ctypes.c_void_p),
        ("zalloc", ctypes.c_void_p),
        ("zfree", ctypes.c_void_p),
        ("opaque", ctypes.c_void_p),
        ("data_type", ctypes.c_int),
        ("adler", ctypes.c_ulong),
        ("reserved", ctypes.c_ulong),
    ]


@functools.cache
def _libz() -> Any:
    name = ctypes.util.find_library("z") or "libz.so.1"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    lib.zlibVersion.restype = ctypes.c_char_p
    lib.inflateInit2_.argtypes = [
        ctypes.POINTER(_ZStream),
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
    ]
    lib.inflate.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_int]
    lib.inflateEnd.argtypes = [ctypes.POINTER(_ZStream)]
    lib.inflatePrime.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_int, ctypes.c_int]
    lib.inflateSetDictionary.argtypes = [ctypes.POINTER(_ZStream), ctypes.c_char_p, ctypes.c_uint]
    return lib


def zran_available() -> bool:
    """True when the zlib library can be called directly (to build and use checkpoints)."""
    return _libz() is not None


class _RawInflate:
    """A raw-deflate inflater on zlib's C API: block boundaries, priming, dictionaries."""

    def __init__(self, name: str | None) -> None:
        lib = _libz()
        if lib is None:
            raise UnsupportedError("the zlib library cannot be loaded: no checkpoint index here")
        self._lib = lib
        self._name = name
        self._strm = _ZStream()
        version = lib.zlibVersion()
        rc = lib.inflateInit2_(ctypes.byref(self._strm), -15, version, ctypes.sizeof(_ZStream))
        if rc != _Z_OK:
            raise DecompressionError(f"zlib inflateInit2 failed ({rc})", name=name)
        self._open = True
        self._out: Any = None
        self.stream_end = False

    def prime(self, bits: int, value: int) -> None:
        if bits:
            self._check(self._lib.inflatePrime(ctypes.byref(self._strm), bits, value), "prime")

    def set_dictionary(self, window: bytes) -> None:
        if window:
            rc = self._lib.inflateSetDictionary(ctypes.byref(self._strm), window, len(window))
            self._check(rc, "set dictionary")

    def _check(self, rc: int, what: str) -> None:
        if rc not in (_Z_OK, _Z_STREAM_END, _Z_BUF_ERROR):
            msg = self._strm.msg.decode(errors="replace") if self._strm.msg else str(rc)
            raise DecompressionError(
                f"member {self._name!r}: corrupt deflate data ({what}: {msg})", name=self._name
            )

    def inflate(self, data: bytes, max_out: int, *, block: bool) -> tuple[bytes, int, int]:
        """Inflate from ``data``: (output, input bytes used, data_type).

        ``data`` is read in place (no copy); the output buffer is reused between calls.
        """
        if self._out is None or len(self._out) < max_out:
            self._out = ctypes.create_string_buffer(max(max_out, 64 << 10))
        out = self._out
        keep = ctypes.c_char_p(data)  # points into ``data`` itself
        strm = self._strm
        strm.next_in = ctypes.cast(keep, ctypes.c_void_p)
        strm.avail_in = len(data)
        strm.next_out = ctypes.addressof(out)
        strm.avail_out = max_out
        rc = self._lib.inflate(ctypes.byref(strm), _Z_BLOCK if block else _Z_NO_FLUSH)
        self._check(rc, "inflate")
        if rc == _Z_STREAM_END:
            self.stream_end = True
        used = len(data) - strm.avail_in
        produced = max_out - strm.avail_out
        return ctypes.string_at(out, produced), used, strm.data_type

    def ended(self) -> bool:
        """True once the stream's last block was decoded."""
        return self.stream_end

    def close(self) -> None:
        if self._open:
            self._lib.inflateEnd(ctypes.byref(self._strm))
            self._open = False

    def __del__(self) -> None:
        self.close()


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


@dataclass(frozen=True, slots=True)
class DeflateIndex:
    """Checkpoints of one member, in output order; the first is always at 0."""

    checkpoints: tuple[Checkpoint, ...]
    size: int
    compress_size: int
    spacing: int

    def at(self, out_pos: int) -> Checkpoint:
        """The last checkpoint at or before ``out_pos``."""
        lo, hi = 0, len(self.checkpoints) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.checkpoints[mid].out_pos <= out_pos:
                lo = mid
            else:
                hi = mid - 1
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
    """Raw deflate through zlib's C API that records checkpoints every ``spacing`` output bytes.

    Used to build an index (explicitly, or as a by-product of a full read); ``index`` is set
    once the stream has been decoded to its end.
    """

    def __init__(self, pull: Pull, *, spacing: int, name: str | None = None) -> None:
        super().__init__(pull, name=name)
        self._z = _RawInflate(name)
        self._spacing = spacing
        self._pending = b""
        self._consumed = 0  # compressed bytes fully handed to zlib so far
        self._produced = 0
        self._window = b""
        self._points = [Checkpoint(0, 0, 0, b"")]
        self._last = 0
        self._input_done = False
        self.index: DeflateIndex | None = None

    def read(self, max_length: int) -> bytes:
        while not self._z.stream_end:
            if not self._pending and not self._input_done:
                self._pending = self._pull(IN_CHUNK)
                self._input_done = not self._pending
            out, used, data_type = self._z.inflate(self._pending, max_length, block=True)
            self._pending = self._pending[used:]
            self._consumed += used
            if out:
                self._produced += len(out)
                self._window = (
                    out[-WINDOW:] if len(out) >= WINDOW else (self._window + out)[-WINDOW:]
                )
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
                    Checkpoint(self._produced, self._consumed, data_type & 7, self._window)
                )
                self._last = self._produced
            if self._z.ended():
                self.index = DeflateIndex(
                    tuple(self._points), self._produced, self._consumed, self._spacing
                )
                self._z.close()
            if out:
                return out
            if self._input_done and not used:
                return b""  # the input ended before the stream did
        return b""

    @property
    def eof(self) -> bool:
        return self._z.stream_end


def checkpoint_decoder(
    pull: Pull, checkpoint: Checkpoint, *, name: str | None = None, backend: str | None = None
) -> Decoder:
    """A decoder that starts at ``checkpoint`` (``pull`` starts at its ``raw_start``).

    A byte-aligned checkpoint needs only a dictionary: the fastest inflater (isal) starts
    there. Others go through zlib's C API to prime the leftover bits.
    """
    if checkpoint.bits == 0:
        from fastzips3._codecs.deflate import DeflateDecoder

        return DeflateDecoder(pull, name=name, backend=backend, zdict=checkpoint.window)
    return CheckpointDecoder(pull, checkpoint, name=name)


class CheckpointDecoder(Decoder):
    """Raw deflate from a checkpoint: ``pull`` starts at ``checkpoint.raw_start``."""

    def __init__(self, pull: Pull, checkpoint: Checkpoint, *, name: str | None = None) -> None:
        super().__init__(pull, name=name)
        self._z = _RawInflate(name)
        self._pending = b""
        self._input_done = False
        if checkpoint.bits:
            first = pull(1)
            if not first:
                raise DecompressionError(f"member {name!r}: data ends at a checkpoint", name=name)
            self._z.prime(checkpoint.bits, first[0] >> (8 - checkpoint.bits))
        self._z.set_dictionary(checkpoint.window)

    def read(self, max_length: int) -> bytes:
        while not self._z.stream_end:
            if not self._pending and not self._input_done:
                self._pending = self._pull(IN_CHUNK)
                self._input_done = not self._pending
            out, used, _ = self._z.inflate(self._pending, max_length, block=False)
            self._pending = self._pending[used:]
            if self._z.ended():
                self._z.close()
            if out:
                return out
            if self._input_done and not used:
                return b""
        return b""

    @property
    def eof(self) -> bool:
        return self._z.stream_end
