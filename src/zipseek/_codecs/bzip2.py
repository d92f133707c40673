"""Method 12 (bzip2) through the standard library."""

from __future__ import annotations

import bz2

from zipseek._codecs.base import Decoder
from zipseek.errors import DecompressionError

__all__ = ["Bzip2Decoder"]


class Bzip2Decoder(Decoder):
    """A bzip2 stream, capped per call with ``max_length``."""

    def __init__(self, *, name: str | None = None) -> None:
        self._obj = bz2.BZ2Decompressor()
        self._name = name
        self._next = b""
        self._fed = False

    def feed(self, data: bytes) -> None:
        self._next = data
        self._fed = True

    def read(self, max_length: int) -> bytes:
        if self._obj.eof:
            return b""
        data = self._next if self._fed else b""
        if not data and self._obj.needs_input:
            return b""
        self._fed = False
        self._next = b""
        try:
            return self._obj.decompress(data, max_length)
        except (OSError, EOFError, ValueError) as exc:
            raise DecompressionError(
                f"member {self._name!r}: corrupt bzip2 data ({exc})", name=self._name
            ) from exc

    @property
    def needs_input(self) -> bool:
        return not self._obj.eof and not self._fed and self._obj.needs_input

    @property
    def eof(self) -> bool:
        return self._obj.eof
