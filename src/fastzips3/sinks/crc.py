"""CRC-32 and ``crc32_combine`` for writers: the compiled core's, else pure Python (zlib's
GF(2) matrix method, which needs no library)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastzips3._accel import CORE
from fastzips3._codecs.crc import crc32 as _crc32

if TYPE_CHECKING:
    from typing_extensions import Buffer

__all__ = ["crc32", "crc32_combine"]


def crc32(data: Buffer, value: int = 0) -> int:
    """zlib's CRC-32 of ``data`` continuing from ``value``, at ISA-L's speed."""
    return _crc32(data, value)  # type: ignore[arg-type]


def _gf2_times(mat: list[int], vec: int) -> int:
    out = 0
    i = 0
    while vec:
        if vec & 1:
            out ^= mat[i]
        vec >>= 1
        i += 1
    return out


def _gf2_square(mat: list[int]) -> list[int]:
    return [_gf2_times(mat, mat[n]) for n in range(32)]


def _pure_combine(crc1: int, crc2: int, len2: int) -> int:
    if len2 <= 0:
        return crc1
    odd = [0xEDB88320] + [1 << n for n in range(31)]  # the operator for one zero bit
    even = _gf2_square(odd)  # two zero bits
    odd = _gf2_square(even)  # four zero bits
    while True:
        even = _gf2_square(odd)
        if len2 & 1:
            crc1 = _gf2_times(even, crc1)
        len2 >>= 1
        if not len2:
            break
        odd = _gf2_square(even)
        if len2 & 1:
            crc1 = _gf2_times(odd, crc1)
        len2 >>= 1
        if not len2:
            break
    return crc1 ^ crc2


def crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from A's CRC, B's CRC and B's length."""
    if len2 < 0:
        raise ValueError("len2 must not be negative")
    if CORE is not None:
        combined: int = CORE.crc32_combine(crc1, crc2, len2)
        return combined
    return _pure_combine(crc1, crc2, len2)
