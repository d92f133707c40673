"""Method 14 (LZMA, the ZIP framing of APPNOTE 5.8.8) through the standard library."""

from __future__ import annotations

import lzma
import struct

from zipseek._codecs.base import Decoder
from zipseek.errors import DecompressionError

__all__ = ["LzmaDecoder"]


class LzmaDecoder(Decoder):
    """LZMA1 with ZIP's 4-byte header (version, properties size) and 5-byte properties."""

    def __init__(self, *, name: str | None = None) -> None:
        self._obj: lzma.LZMADecompressor | None = None
        self._header = b""
        self._next = b""
        self._name = name

    def _error(self, why: str) -> DecompressionError:
        return DecompressionError(
            f"member {self._name!r}: corrupt LZMA data ({why})", name=self._name
        )

    def feed(self, data: bytes) -> None:
        if self._obj is None:
            self._header += data
            if len(self._header) < 4:
                return
            (props_size,) = struct.unpack_from("<H", self._header, 2)
            if len(self._header) < 4 + props_size:
                return
            if props_size != 5:
                raise self._error(f"unexpected properties size {props_size}")
            props = self._header[4:9]
            d = props[0]
            if d >= 9 * 5 * 5:
                raise self._error("invalid lc/lp/pb byte")
            (dict_size,) = struct.unpack_from("<L", props, 1)
            filt = {
                "id": lzma.FILTER_LZMA1,
                "lc": d % 9,
                "lp": (d // 9) % 5,
                "pb": d // 45,
                "dict_size": dict_size,
            }
            try:
                self._obj = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[filt])
            except lzma.LZMAError as exc:
                raise self._error(str(exc)) from exc
            data = self._header[9:]
            self._header = b""
        self._next = data

    def read(self, max_length: int) -> bytes:
        obj = self._obj
        if obj is None or obj.eof:
            return b""
        data, self._next = self._next, b""
        if not data and obj.needs_input:
            return b""
        try:
            return obj.decompress(data, max_length)
        except (lzma.LZMAError, EOFError, ValueError) as exc:
            raise self._error(str(exc)) from exc

    @property
    def needs_input(self) -> bool:
        obj = self._obj
        if obj is None:
            return True
        return not obj.eof and not self._next and obj.needs_input

    @property
    def eof(self) -> bool:
        return self._obj is not None and self._obj.eof

    @property
    def self_terminating(self) -> bool:
        # The EOS marker is optional in ZIP's LZMA (flag bit 1); the size bounds the stream.
        return False
