"""The decoder interface every codec implements: fed compressed bytes, read with a cap."""

from __future__ import annotations

from abc import ABC, abstractmethod

__all__ = ["Decoder", "StoredDecoder"]


class Decoder(ABC):
    """A bounded streaming decoder.

    Call :meth:`feed` only when :attr:`needs_input` is true, then :meth:`read` until it returns
    ``b""``. No call ever returns more than ``max_length`` bytes, so a bomb cannot make one call
    allocate without bound (urllib3's ``response.py`` and CPython's ``ZipExtFile`` do the same).
    Decoders raise :class:`zipseek.errors.DecompressionError` on corrupt input and nothing else.
    """

    @abstractmethod
    def feed(self, data: bytes) -> None:
        """Hand the decoder the next compressed bytes."""

    @abstractmethod
    def read(self, max_length: int) -> bytes:
        """Return up to ``max_length`` decoded bytes; ``b""`` when it needs input or is done."""

    @property
    @abstractmethod
    def needs_input(self) -> bool:
        """True when the decoder has consumed all its input and can produce nothing more."""

    @property
    @abstractmethod
    def eof(self) -> bool:
        """True once the compressed stream's end marker was reached."""

    @property
    def self_terminating(self) -> bool:
        """True when the format marks its own end (so a missing end marker is an error)."""
        return True


class StoredDecoder(Decoder):
    """Method 0: the bytes are the content."""

    def __init__(self) -> None:
        self._buf = b""
        self._pos = 0

    def feed(self, data: bytes) -> None:
        self._buf = self._buf[self._pos :] + data if self._pos < len(self._buf) else data
        self._pos = 0

    def read(self, max_length: int) -> bytes:
        if self._pos == 0 and len(self._buf) <= max_length:
            out, self._buf = self._buf, b""
            return out
        out = self._buf[self._pos : self._pos + max_length]
        self._pos += len(out)
        return out

    @property
    def needs_input(self) -> bool:
        return self._pos >= len(self._buf)

    @property
    def eof(self) -> bool:
        return False

    @property
    def self_terminating(self) -> bool:
        return False
