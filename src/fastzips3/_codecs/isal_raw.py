"""ISA-L's inflate called through ``ctypes``, so that it runs without the GIL.

python-isal holds the GIL while it inflates, so two threads decoding two pieces of a member
run no faster than one. Its extension module exports ISA-L's C functions, though, and a
``ctypes`` call releases the GIL for its duration: pieces decoded this way run in parallel at
ISA-L's speed (measured here on 12 pieces of 101 MB of text: 0.21 s on one thread, 0.12 s on
two; python-isal 0.20 s on one).

Only the head of ISA-L's ``struct inflate_state`` is touched (the output and input pointers
and counts and the bit buffer). It has kept the same layout since ISA-L 2.0; the rest of the
structure is left to ``isal_inflate_init``. Streaming (:class:`IsalStream`) also reads
``block_state``, which lies after the Huffman tables, at an offset known for ISA-L 2.31 and
later. Loading runs a self-test (a plain stream, segments, a dictionary, a start in the middle
of a byte, and for streaming, the end of a stream seen only at its end) against the standard
library's zlib; if anything differs, :func:`isal_raw` returns None (or streaming is off) and
callers fall back to python-isal.

Pure: no I/O. Errors are :class:`~fastzips3.errors.DecompressionError`.
"""

from __future__ import annotations

import ctypes
import functools
import zlib
from collections.abc import Callable, Sequence
from typing import Any

from fastzips3.errors import DecompressionError

__all__ = ["IsalRaw", "IsalStream", "Segment", "isal_raw"]

#: Bytes reserved for ``struct inflate_state`` (about 87 KiB in ISA-L 2.32).
_STATE_SIZE = 256 << 10
_ALIGN = 64

#: Where ``block_state`` lies in ``struct inflate_state`` from ISA-L 2.31 on (after the 40-byte
#: head and the two Huffman tables, 18,912 and 2,208 bytes); checked by the self-test.
_BLOCK_STATE_OFFSET = 21160
_ISAL_BLOCK_FINISH = 5
_MIN_STREAMING_VERSION = (2, 31)

_ISAL_INVALID_RETURNS = {
    -1: "invalid block",
    -2: "invalid symbol",
    -3: "invalid lookback distance",
}


#: A piece of compressed input read in place: ``(buffer, start, end)``.
Segment = tuple[bytes, int, int]


class _InflateHead(ctypes.Structure):
    """The leading fields of ISA-L's ``struct inflate_state``."""

    _fields_ = [
        ("next_out", ctypes.c_void_p),
        ("avail_out", ctypes.c_uint32),
        ("total_out", ctypes.c_uint32),
        ("next_in", ctypes.c_void_p),
        ("read_in", ctypes.c_uint64),
        ("avail_in", ctypes.c_uint32),
        ("read_in_length", ctypes.c_int32),
    ]


def _address(data: bytes) -> int:
    """Where a bytes object's content lies in memory (it never moves in CPython)."""
    address = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
    assert address is not None
    return address


class IsalRaw:
    """ISA-L's raw inflate on C buffers, with the GIL released."""

    def __init__(self, lib: Any, *, streaming: bool) -> None:
        self._lib = lib
        #: Whether :meth:`stream` may be used (``block_state`` is where it is expected).
        self.streaming = streaming
        # A private prototype: setting argtypes on ctypes.pythonapi's shared function object
        # would change it for every other user in the process.
        prototype = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_ssize_t)
        self._new_bytes = prototype(("PyBytes_FromStringAndSize", ctypes.pythonapi))

    def new_output(self, size: int) -> bytes:
        """A fresh bytes object of ``size`` bytes for ISA-L to write into (nobody else holds
        it yet, so writing it in place is safe)."""
        out: bytes = self._new_bytes(None, size)
        return out

    def new_state(self, window: bytes, name: str | None) -> tuple[Any, int, _InflateHead]:
        """A fresh ``inflate_state`` with ``window`` as history: (its buffer, address, head)."""
        buffer = ctypes.create_string_buffer(_STATE_SIZE + _ALIGN)
        state = (ctypes.addressof(buffer) + _ALIGN - 1) & ~(_ALIGN - 1)
        self._lib.isal_inflate_init(state)
        if window and self._lib.isal_inflate_set_dict(state, window, len(window)) != 0:
            raise DecompressionError(f"member {name!r}: ISA-L refused the window", name=name)
        return buffer, state, _InflateHead.from_address(state)

    def run(self, state: int, name: str | None) -> None:
        """One ``isal_inflate`` call (without the GIL); corrupt data raises."""
        rc = self._lib.isal_inflate(state)
        if rc < 0:
            reason = _ISAL_INVALID_RETURNS.get(rc, f"error {rc}")
            raise DecompressionError(f"member {name!r}: corrupt deflate data ({reason})", name=name)

    def inflate(
        self,
        data: bytes | Sequence[Segment],
        size: int,
        *,
        window: bytes = b"",
        bits: int = 0,
        name: str | None = None,
    ) -> bytes:
        """Exactly ``size`` bytes of raw deflate output.

        ``data`` is the compressed bytes, or a sequence of ``(buffer, start, end)`` segments
        that follow one another (read in place, never joined). It starts on a byte boundary,
        or, when ``bits`` is 1-7, its first byte's top ``bits`` bits are the first bits of the
        stream. ``window`` is the history before it (up to 32 KiB). Raises
        :class:`DecompressionError` if the data is corrupt or ends before ``size`` bytes came
        out.
        """
        segments = [(data, 0, len(data))] if isinstance(data, bytes) else list(data)
        _buffer, state, head = self.new_state(window, name)
        if bits:
            index = next((i for i, (_, lo, hi) in enumerate(segments) if hi > lo), None)
            if index is None:
                raise DecompressionError(f"member {name!r}: data ends at a checkpoint", name=name)
            buf, lo, hi = segments[index]
            head.read_in = buf[lo] >> (8 - bits)
            head.read_in_length = bits
            segments[index] = (buf, lo + 1, hi)
        out = self.new_output(size)
        if size == 0:
            return out
        head.next_out = _address(out)
        head.avail_out = size
        for buf, start, end in segments:
            if end <= start:
                continue
            head.next_in = _address(buf) + start
            head.avail_in = end - start
            self.run(state, name)
            if not head.avail_out:
                return out
        head.avail_in = 0
        while head.avail_out:  # the input is used up: let ISA-L flush what it holds back
            before = head.avail_out
            self.run(state, name)
            if head.avail_out == before:
                break
        if not head.avail_out:
            return out
        raise DecompressionError(
            f"member {name!r}: deflate data ended after {size - head.avail_out} of {size} bytes",
            name=name,
        )

    def stream(self, window: bytes = b"", *, name: str | None = None) -> IsalStream:
        """A streaming inflater (see :attr:`streaming`)."""
        if not self.streaming:
            raise RuntimeError("ISA-L streaming is not available here")
        return IsalStream(self, window, name)


class IsalStream:
    """Raw deflate through ISA-L's C API, one output buffer at a time, without the GIL."""

    def __init__(self, raw: IsalRaw, window: bytes, name: str | None) -> None:
        self._raw = raw
        self._name = name
        self._buffer, self._state, self._head = raw.new_state(window, name)
        self._block_state = ctypes.c_uint32.from_address(self._state + _BLOCK_STATE_OFFSET)
        self._input = b""  # the bytes ISA-L's next_in points into: kept alive here
        self._input_done = False

    @property
    def finished(self) -> bool:
        """The final block has been decoded and all its output handed out."""
        return bool(self._block_state.value == _ISAL_BLOCK_FINISH)

    def feed(self, data: bytes) -> None:
        """Give the next compressed bytes (once the previous ones are consumed)."""
        self._input = data
        self._head.next_in = _address(data)
        self._head.avail_in = len(data)

    def read(self, max_length: int, pull: Callable[[], bytes]) -> bytes:
        """Up to ``max_length`` bytes of output, calling ``pull`` for more input as needed
        (``b""`` from it means the input has ended); fewer only at the end."""
        head = self._head
        out = self._raw.new_output(max_length)
        head.next_out = _address(out)
        head.avail_out = max_length
        while head.avail_out and not self.finished:
            if not head.avail_in and not self._input_done:
                data = pull()
                if data:
                    self.feed(data)
                else:
                    self._input_done = True
            before = (head.avail_in, head.avail_out)
            # With no input left, a call still flushes output ISA-L holds back.
            self._raw.run(self._state, self._name)
            if (head.avail_in, head.avail_out) == before and not self.finished:
                if self._input_done:
                    break  # the input ended before the stream did
                raise DecompressionError(
                    f"member {self._name!r}: ISA-L made no progress", name=self._name
                )
        produced = max_length - head.avail_out
        head.next_out = None
        return out if produced == max_length else out[:produced]


@functools.cache
def isal_raw() -> IsalRaw | None:
    """The GIL-free ISA-L inflater, or None where it cannot be loaded or fails its self-test."""
    try:
        from isal import igzip_lib
    except ImportError:  # pragma: no cover - isal is a default dependency on CPython
        return None
    try:
        lib = ctypes.CDLL(igzip_lib.__file__)
        lib.isal_inflate_init.argtypes = [ctypes.c_void_p]
        lib.isal_inflate_init.restype = None
        lib.isal_inflate.argtypes = [ctypes.c_void_p]
        lib.isal_inflate.restype = ctypes.c_int
        lib.isal_inflate_set_dict.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32]
        lib.isal_inflate_set_dict.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    raw = IsalRaw(lib, streaming=False)
    if not _self_test(raw):
        return None
    try:
        from isal import ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION
    except ImportError:  # pragma: no cover - every python-isal release has them
        return raw
    if (ISAL_MAJOR_VERSION, ISAL_MINOR_VERSION) >= _MIN_STREAMING_VERSION:
        streaming = IsalRaw(lib, streaming=True)
        if _streaming_self_test(streaming):
            return streaming
    return raw


def _self_test(raw: IsalRaw) -> bool:
    """Whether ``raw`` decodes a stream, a stream with a dictionary and a mid-byte start."""
    text = b"".join(b"%d,fastzips3,%d\n" % (i, i * i % 977) for i in range(1000))
    window = text[:2000]
    try:
        plain = _raw_deflate(text)
        if raw.inflate(plain, len(text)) != text:
            return False
        halves = [(plain, 0, 700), (plain, 700, len(plain))]
        if raw.inflate(halves, len(text)) != text:
            return False
        with_dict = _raw_deflate(text[2000:], zdict=window)
        if raw.inflate(with_dict, len(text) - 2000, window=window) != text[2000:]:
            return False
        return _mid_byte_case(raw, text)
    except DecompressionError:
        return False


def _raw_deflate(data: bytes, zdict: bytes = b"") -> bytes:
    if zdict:
        obj = zlib.compressobj(6, zlib.DEFLATED, -15, zdict=zdict)
    else:
        obj = zlib.compressobj(6, zlib.DEFLATED, -15)
    return obj.compress(data) + obj.flush()


def _mid_byte_case(raw: IsalRaw, text: bytes) -> bool:
    """Decode from a block boundary that falls inside a byte, as zran checkpoints do."""
    obj = zlib.compressobj(1, zlib.DEFLATED, -15, 9, zlib.Z_FIXED)
    head = obj.compress(text[:1]) + obj.flush(zlib.Z_BLOCK)
    rest = obj.compress(text[1:]) + obj.flush()
    stream = head + rest
    # After Z_BLOCK the first block (3 header bits + one 8-bit literal + 7-bit end code =
    # 18 bits) is complete: the next block starts at bit 2 of byte 2.
    first_bit = 18
    byte, bits_used = divmod(first_bit, 8)
    data = stream[byte:]
    out = raw.inflate(data, len(text) - 1, window=text[:1], bits=8 - bits_used)
    return out == text[1:]


def _streaming_self_test(raw: IsalRaw) -> bool:
    """Whether streaming gives zlib's output in small steps and sees the end only at the end."""
    text = b"".join(b"%d;stream;%d\n" % (i, i * 7 % 1009) for i in range(1500))
    comp = _raw_deflate(text)
    pieces = [comp[i : i + 333] for i in range(0, len(comp), 333)]

    def pull() -> bytes:
        return pieces.pop(0) if pieces else b""

    try:
        stream = raw.stream()
        out = bytearray()
        while not stream.finished:
            chunk = stream.read(1000, pull)
            if not chunk and not stream.finished:
                return False
            if not stream.finished and len(out) + len(chunk) >= len(text) + 1:
                return False
            out += chunk
        if bytes(out) != text:
            return False
        cut = raw.stream()
        half = [comp[: len(comp) // 2]]
        cut.read(len(text), lambda: half.pop() if half else b"")
        return not cut.finished
    except DecompressionError:
        return False
