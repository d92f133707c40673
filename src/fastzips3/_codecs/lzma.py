"""Method 14 (LZMA, the ZIP framing of APPNOTE 5.8.8) through the standard library."""

from __future__ import annotations

import lzma
import struct

from fastzips3._codecs.base import Pull
from fastzips3._codecs.bzip2 import StdlibStreamDecoder
from fastzips3.errors import DecompressionError

__all__ = ["LzmaDecoder", "XzDecoder"]


#: Memory cap for an xz stream's decoder (its header declares what it needs).
XZ_MEMLIMIT = 512 << 20


class LzmaDecoder(StdlibStreamDecoder):
    """LZMA1 with ZIP's 4-byte header (version, properties size) and 5-byte properties.

    liblzma allocates the declared dictionary up front, and a hostile header may declare
    4 GiB. A dictionary larger than the member's declared size is never used, so it is cut to
    that size (``size``, when known): memory follows the member, not the header.
    """

    label = "LZMA"

    def __init__(self, pull: Pull, *, name: str | None = None, size: int | None = None) -> None:
        self._lz: lzma.LZMADecompressor | None = None
        self._size = size
        super().__init__(pull, name=name)

    def _error(self, why: str) -> DecompressionError:
        return DecompressionError(
            f"member {self._name!r}: corrupt LZMA data ({why})", name=self._name
        )

    def _start(self) -> None:
        header = b""
        while len(header) < 9:
            more = self._pull(9 - len(header))
            if not more:
                raise self._error("the LZMA header is cut short")
            header += more
        (props_size,) = struct.unpack_from("<H", header, 2)
        if props_size != 5:
            raise self._error(f"unexpected properties size {props_size}")
        d = header[4]
        if d >= 9 * 5 * 5:
            raise self._error("invalid lc/lp/pb byte")
        (dict_size,) = struct.unpack_from("<L", header, 5)
        if self._size is not None:
            dict_size = min(dict_size, max(4096, self._size))
        lzma1 = {
            "id": lzma.FILTER_LZMA1,
            "lc": d % 9,
            "lp": (d // 9) % 5,
            "pb": d // 45,
            "dict_size": dict_size,
        }
        try:
            self._lz = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[lzma1])
        except lzma.LZMAError as exc:
            raise self._error(str(exc)) from exc

    def read(self, max_length: int) -> bytes:
        if self._lz is None:
            self._start()
        return super().read(max_length)

    def _decompress(self, data: bytes, max_length: int) -> bytes:
        assert self._lz is not None
        try:
            return self._lz.decompress(data, max_length)
        except lzma.LZMAError as exc:
            raise self._error(str(exc)) from exc

    def _needs_input(self) -> bool:
        assert self._lz is not None
        return self._lz.needs_input

    @property
    def eof(self) -> bool:
        return self._lz is not None and self._lz.eof

    @property
    def self_terminating(self) -> bool:
        # The end marker is optional in ZIP's LZMA (flag bit 1); the declared size bounds it.
        return False


class XzDecoder(StdlibStreamDecoder):
    """Method 95: .xz streams (APPNOTE 4.4.5); concatenated streams are read one after another."""

    label = "xz"

    def __init__(self, pull: Pull, *, name: str | None = None) -> None:
        self._xz = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)
        self._carry = b""
        super().__init__(pull, name=name)

    def _decompress(self, data: bytes, max_length: int) -> bytes:
        data, self._carry = self._carry + data, b""
        try:
            out = self._xz.decompress(data, max_length)
        except lzma.LZMAError as exc:
            raise DecompressionError(
                f"member {self._name!r}: corrupt xz data ({exc})", name=self._name
            ) from exc
        if self._xz.eof and self._xz.unused_data.lstrip(b"\0"):
            self._carry = self._xz.unused_data.lstrip(b"\0")  # stream padding is zeros
            self._xz = lzma.LZMADecompressor(lzma.FORMAT_XZ, memlimit=XZ_MEMLIMIT)
        return out

    def _needs_input(self) -> bool:
        return not self._carry and self._xz.needs_input

    @property
    def eof(self) -> bool:
        return self._xz.eof and not self._carry
