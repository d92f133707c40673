"""DecodedStream: a member's content, decoded in order from its compressed bytes, size-checked.

It owns the compressed byte stream (one :class:`SequentialReader`), the decryption layer if
any, and the decoder. :meth:`DecodedStream.next` returns decoded chunks and ``b""`` only once
the content has been checked to end exactly at its declared size. Large compressed members
decode on a :class:`ReadAhead` thread, overlapped with fetching and with the caller.
"""

from __future__ import annotations

from collections.abc import Callable

from fastzips3._codecs.base import Decoder, Pull
from fastzips3._codecs.registry import make_decoder
from fastzips3._codecs.zran import (
    Checkpoint,
    IndexingDeflateDecoder,
    checkpoint_decoder,
    zran_available,
)
from fastzips3._engine.engine import SequentialReader
from fastzips3._engine.pipeline import ReadAhead
from fastzips3.errors import SizeMismatchError

__all__ = ["DecodedStream"]

_CHUNK = 1 << 20
#: Compressed members larger than this decode on their own thread.
READ_AHEAD_THRESHOLD = 4 << 20


class DecodedStream:
    """Decoded content of one member from its first byte (or a later restart point).

    ``ends_at_size`` is for streams with no end marker of their own (LZMA without flag bit 1):
    the declared size is where they end, so no check byte is asked past it. ``checkpoint``
    starts a deflate member at an index checkpoint (``raw`` starts at its ``raw_start`` and
    ``produced`` is its ``out_pos``); ``index_spacing`` builds an index while decoding
    (``indexer.index`` once the stream has ended) where checkpoints can be built (the compiled
    core), and is ignored elsewhere.
    """

    def __init__(
        self,
        raw: SequentialReader,
        *,
        method: int,
        name: str,
        size: int,
        produced: int = 0,
        deflate_backend: str | None = None,
        decrypt: Callable[[Pull], Pull] | None = None,
        read_ahead: bool = False,
        ends_at_size: bool = False,
        checkpoint: Checkpoint | None = None,
        index_spacing: int | None = None,
    ) -> None:
        self._raw = raw
        self._ends_at_size = ends_at_size
        self._name = name
        self._size = size
        self.produced = produced
        pull: Pull = raw.read
        if decrypt is not None:
            pull = decrypt(pull)
        self._pull = pull
        self._drain_at_end = decrypt is not None
        self.indexer: IndexingDeflateDecoder | None = None
        if checkpoint is not None:
            self._decoder: Decoder = checkpoint_decoder(
                pull, checkpoint, name=name, backend=deflate_backend
            )
        elif index_spacing is not None and method == 8 and zran_available():
            self.indexer = IndexingDeflateDecoder(pull, spacing=index_spacing, name=name)
            self._decoder = self.indexer
        else:
            self._decoder = make_decoder(
                method, pull, name=name, deflate_backend=deflate_backend, size=size
            )
        self._from_start = produced == 0
        self._done = False
        # The decode thread starts at the first chunked read (:meth:`next`); whole reads
        # (:meth:`take`) and reads into the caller's buffer (:meth:`next_into`) before it
        # decode on the caller's thread, straight into their final buffer.
        self._read_ahead = read_ahead
        self._ahead: ReadAhead | None = None

    @staticmethod
    def check_method(method: int, *, name: str) -> None:
        """Raise now if ``method`` is unsupported or its codec is not installed."""
        make_decoder(method, lambda n: b"", name=name)

    def _produce(self, want: int) -> bytes:
        """Decoded bytes, at most ``want``; ``b""`` once verified complete."""
        if self._done:
            return b""
        left = self._size - self.produced
        if left <= 0 and self._ends_at_size:
            self._done = True
            return b""
        out = self._decoder.read(min(want, left) if left > 0 else 1)
        if len(out) > left:
            raise SizeMismatchError(
                f"member {self._name!r} decodes to more than its declared {self._size} bytes",
                name=self._name,
                expected=self._size,
                actual=self.produced + len(out),
            )
        self.produced += len(out)
        if not out:
            if self.produced < self._size:
                raise SizeMismatchError(
                    f"member {self._name!r} holds {self.produced} bytes but declares {self._size}",
                    name=self._name,
                    expected=self._size,
                    actual=self.produced,
                )
            if self._drain_at_end:
                # Pull what the decoder left, so an authentication code at the very end of
                # the data (WinZip AES) is checked.
                while self._pull(1 << 16):
                    pass
            self._done = True
        return out

    def _produce_full(self, want: int) -> bytes:
        """Exactly ``want`` decoded bytes, fewer only at the end.

        Whole chunks let the reader hand them to a caller reading the same size without
        another copy (a full slice of ``bytes`` is the object itself).
        """
        first = self._produce(want)
        if len(first) >= want or not first:
            return first
        parts = [first]
        got = len(first)
        while got < want:
            more = self._produce(want - got)
            if not more:
                break
            parts.append(more)
            got += len(more)
        return b"".join(parts)

    @property
    def fused_crc(self) -> int | None:
        """The CRC-32 of everything decoded so far, when the decoder computes it as it goes and
        this stream started at the member's first byte; else None."""
        return self._decoder.fused_crc if self._from_start else None

    @property
    def direct(self) -> bool:
        """True when :meth:`next_into` and :meth:`take` decode straight into the caller's
        buffer (no decode thread has started)."""
        return self._ahead is None

    def take(self, want: int) -> bytes:
        """Exactly ``want`` decoded bytes in one buffer (fewer only at the end), decoded on this
        thread when no decode thread has started."""
        if self._ahead is not None:
            return self.next(want)
        return self._produce_full(want)

    def next_into(self, out: memoryview) -> int:
        """Like :meth:`next`, into ``out``; the count, 0 at the verified end."""
        if self._ahead is not None or self._done:
            data = self.next(len(out))
            out[: len(data)] = data
            return len(data)
        left = self._size - self.produced
        if left <= 0:
            data = self._produce(len(out))
            out[: len(data)] = data
            return len(data)
        got = self._decoder.read_into(out[:left] if len(out) > left else out)
        if not got:
            data = self._produce(1)  # b"" once the end is checked (or it raises)
            out[: len(data)] = data
            return len(data)
        self.produced += got
        return got

    def next(self, want: int = _CHUNK) -> bytes:
        """The next decoded chunk; ``b""`` at the verified end."""
        if self._ahead is None and self._read_ahead and not self._done:
            self._ahead = ReadAhead(
                lambda: self._produce_full(_CHUNK), name=f"fastzips3-decode {self._name}"
            )
        if self._ahead is not None:
            return self._ahead.get()
        return self._produce(want)

    @property
    def threads_alive(self) -> int:
        """Decode and prefetch threads still running."""
        return int(self._ahead is not None and self._ahead.alive) + self._raw.threads_alive

    def close(self) -> None:
        """Stop the decode thread and release the compressed stream."""
        if self._ahead is not None:
            self._ahead.cancel()
        self._raw.close()
        if self._ahead is not None:
            self._ahead.join()
