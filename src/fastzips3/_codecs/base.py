"""The decoder interface every codec implements: it pulls compressed bytes, returns at most
``max_length`` decoded bytes per call.

Decoders pull their input through a callable (``pull(n)`` returns up to ``n`` compressed bytes,
``b""`` at the end of the member's data), so a decoder never holds more input than one pull,
and no call returns more than ``max_length`` bytes: a bomb cannot make one call allocate
without bound (urllib3's ``response.py`` and CPython's ``ZipExtFile`` do the same). Decoders
raise :class:`fastzips3.errors.DecompressionError` on corrupt input, and nothing else.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

__all__ = ["IN_CHUNK", "Decoder", "Pull", "StoredDecoder"]

Pull = Callable[[int], bytes]
"""``pull(n)``: up to ``n`` more compressed bytes; ``b""`` once the member's data is used up."""

IN_CHUNK = 256 << 10


class Decoder(ABC):
    """A bounded streaming decoder over pulled input."""

    def __init__(self, pull: Pull, *, name: str | None = None) -> None:
        self._pull = pull
        self._name = name

    @abstractmethod
    def read(self, max_length: int) -> bytes:
        """Up to ``max_length`` (> 0) decoded bytes; ``b""`` only at the end of the stream."""

    @property
    @abstractmethod
    def eof(self) -> bool:
        """True once the compressed stream's own end marker was reached."""

    @property
    def self_terminating(self) -> bool:
        """True when the format marks its own end."""
        return True

    @property
    def fused_crc(self) -> int | None:
        """The CRC-32 of all output so far when the decoder computes it as it decodes (the
        compiled core's inflaters), else None: the caller then computes it."""
        return None

    def read_into(self, out: memoryview) -> int:
        """Decode into ``out`` (at most its length); the count, 0 only at the end.

        This default copies from :meth:`read`; decoders that can write in place override it.
        """
        data = self.read(len(out))
        out[: len(data)] = data
        return len(data)


class StoredDecoder(Decoder):
    """Method 0: the bytes are the content."""

    def read(self, max_length: int) -> bytes:
        return self._pull(max_length)

    @property
    def eof(self) -> bool:
        return False

    @property
    def self_terminating(self) -> bool:
        return False
