"""Choosing a decoder for a compression method, and CRC-32 at full speed."""

from __future__ import annotations

import zlib
from collections.abc import Callable

from zipseek._codecs.base import Decoder, StoredDecoder
from zipseek._codecs.bzip2 import Bzip2Decoder
from zipseek._codecs.deflate import DeflateDecoder
from zipseek._codecs.lzma import LzmaDecoder
from zipseek.errors import UnsupportedMethodError

__all__ = ["SUPPORTED_METHODS", "crc32", "make_decoder"]

try:
    from isal.isal_zlib import crc32 as _fast_crc32
except ImportError:  # pragma: no cover - isal is a default dependency
    _fast_crc32 = zlib.crc32

crc32: Callable[[bytes, int], int] = _fast_crc32
"""CRC-32 as ``crc32(data, value)``: isal's (21-30 GB/s here) where present, else zlib's."""

_METHOD_NAMES = {
    1: "shrink",
    2: "reduce",
    3: "reduce",
    4: "reduce",
    5: "reduce",
    6: "implode",
    9: "deflate64",
    10: "PKWARE DCL implode",
    18: "IBM TERSE",
    19: "IBM LZ77",
    20: "zstd (old id)",
    93: "zstd",
    95: "xz",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
}

SUPPORTED_METHODS = frozenset({0, 8, 12, 14})


def make_decoder(
    method: int, *, name: str | None = None, deflate_backend: str | None = None
) -> Decoder:
    """A fresh decoder for ``method``, or :class:`UnsupportedMethodError` naming the method."""
    if method == 0:
        return StoredDecoder()
    if method == 8:
        return DeflateDecoder(deflate_backend, name=name)
    if method == 12:
        return Bzip2Decoder(name=name)
    if method == 14:
        return LzmaDecoder(name=name)
    label = _METHOD_NAMES.get(method, "unknown")
    raise UnsupportedMethodError(
        f"member {name!r} uses compression method {method} ({label}), which zipseek does not "
        "support yet",
        method=method,
        name=name,
    )
