"""Choosing a decoder for a compression method."""

from __future__ import annotations

from fastzips3._codecs.base import Decoder, Pull, StoredDecoder
from fastzips3._codecs.bzip2 import Bzip2Decoder
from fastzips3._codecs.deflate import DeflateDecoder
from fastzips3._codecs.deflate64 import Deflate64Decoder
from fastzips3._codecs.lzma import LzmaDecoder, XzDecoder
from fastzips3._codecs.zstd import ZstdDecoder
from fastzips3.errors import UnsupportedMethodError

__all__ = ["SUPPORTED_METHODS", "make_decoder"]

_UNSUPPORTED_NAMES = {
    1: "shrink",
    2: "reduce",
    3: "reduce",
    4: "reduce",
    5: "reduce",
    6: "implode",
    10: "PKWARE DCL implode",
    18: "IBM TERSE",
    19: "IBM LZ77",
    96: "JPEG",
    97: "WavPack",
    98: "PPMd",
}

SUPPORTED_METHODS = frozenset({0, 8, 9, 12, 14, 20, 93, 95})


def make_decoder(
    method: int,
    pull: Pull,
    *,
    name: str | None = None,
    deflate_backend: str | None = None,
    size: int | None = None,
) -> Decoder:
    """A decoder for ``method`` pulling from ``pull``.

    Raises :class:`UnsupportedMethodError` naming the method, or
    :class:`~fastzips3.errors.CodecNotInstalledError` naming the extra to install. ``size``
    (the declared uncompressed size) bounds what a codec may allocate for its window.
    """
    if method == 0:
        return StoredDecoder(pull, name=name)
    if method == 8:
        return DeflateDecoder(pull, name=name, backend=deflate_backend)
    if method == 9:
        return Deflate64Decoder(pull, name=name)
    if method == 12:
        return Bzip2Decoder(pull, name=name)
    if method == 14:
        return LzmaDecoder(pull, name=name, size=size)
    if method == 95:
        return XzDecoder(pull, name=name)
    if method in (20, 93):
        return ZstdDecoder(pull, method=method, name=name)
    label = _UNSUPPORTED_NAMES.get(method, "unknown")
    raise UnsupportedMethodError(
        f"member {name!r} uses compression method {method} ({label}), which fastzips3 does not "
        "support",
        method=method,
        name=name,
    )
