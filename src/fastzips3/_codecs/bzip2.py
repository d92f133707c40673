"""Method 12 (bzip2) through the standard library."""

from __future__ import annotations

import bz2

from fastzips3._codecs.base import IN_CHUNK, Decoder, Pull
from fastzips3.errors import DecompressionError

__all__ = ["Bzip2Decoder", "StdlibStreamDecoder"]


class StdlibStreamDecoder(Decoder):
    """Shared loop for the stdlib's bz2/lzma decompressors (``needs_input``, ``max_length``)."""

    label = "compressed"

    def __init__(self, pull: Pull, *, name: str | None) -> None:
        super().__init__(pull, name=name)
        self._input_done = False

    def _decompress(self, data: bytes, max_length: int) -> bytes:
        raise NotImplementedError

    def _needs_input(self) -> bool:
        raise NotImplementedError

    def read(self, max_length: int) -> bytes:
        while not self.eof:
            data = b""
            if self._needs_input():
                if self._input_done:
                    return b""
                data = self._pull(IN_CHUNK)
                if not data:
                    self._input_done = True
                    return b""
            try:
                out = self._decompress(data, max_length)
            except (OSError, EOFError, ValueError) as exc:
                raise DecompressionError(
                    f"member {self._name!r}: corrupt {self.label} data ({exc})", name=self._name
                ) from exc
            if out:
                return out
        return b""


class Bzip2Decoder(StdlibStreamDecoder):
    """A bzip2 stream."""

    label = "bzip2"

    def __init__(self, pull: Pull, *, name: str | None = None) -> None:
        self._bz = bz2.BZ2Decompressor()
        super().__init__(pull, name=name)

    def _decompress(self, data: bytes, max_length: int) -> bytes:
        return self._bz.decompress(data, max_length)

    def _needs_input(self) -> bool:
        return self._bz.needs_input

    @property
    def eof(self) -> bool:
        return self._bz.eof
