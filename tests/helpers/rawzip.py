"""A minimal ZIP writer for tests: any method, content compressed by the test's own codec."""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass


def _deflate(data: bytes) -> bytes:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush()


def _deflate64(data: bytes) -> bytes:
    import inflate64

    d = inflate64.Deflater()
    out: bytes = d.deflate(data) + d.flush()
    return out


def _zstd(data: bytes) -> bytes:
    import zstandard

    out: bytes = zstandard.ZstdCompressor(level=3).compress(data)
    return out


def _lzma(data: bytes) -> bytes:
    props: bytes = lzma._encode_filter_properties({"id": lzma.FILTER_LZMA1})  # type: ignore[attr-defined]
    body = lzma.compress(data, format=lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA1}])
    return struct.pack("<BBH", 9, 4, len(props)) + props + body


COMPRESSORS: dict[int, Callable[[bytes], bytes]] = {
    0: lambda data: data,
    8: _deflate,
    9: _deflate64,
    12: bz2.compress,
    14: _lzma,
    93: _zstd,
    95: lambda data: lzma.compress(data, format=lzma.FORMAT_XZ),
}


@dataclass(frozen=True)
class RawMember:
    """One member: its content and method (compressed with COMPRESSORS unless given)."""

    name: str
    content: bytes
    method: int = 0
    compressed: bytes | None = None
    flags: int = 0


def build_zip(members: Sequence[RawMember]) -> bytes:
    """An archive of ``members`` with classic (non-ZIP64) records."""
    out = bytearray()
    central = bytearray()
    for m in members:
        data = m.compressed if m.compressed is not None else COMPRESSORS[m.method](m.content)
        crc = zlib.crc32(m.content)
        name = m.name.encode()
        flags = m.flags | (0x2 if m.method == 14 else 0)
        offset = len(out)
        out += struct.pack(
            "<4s5H3L2H",
            b"PK\x03\x04",
            63,
            flags,
            m.method,
            0,
            0x5821,
            crc,
            len(data),
            len(m.content),
            len(name),
            0,
        )
        out += name + data
        central += struct.pack(
            "<4s6H3L5H2L",
            b"PK\x01\x02",
            (3 << 8) | 63,
            63,
            flags,
            m.method,
            0,
            0x5821,
            crc,
            len(data),
            len(m.content),
            len(name),
            0,
            0,
            0,
            0,
            0o644 << 16,
            offset,
        )
        central += name
    cd_offset = len(out)
    out += central
    out += struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), cd_offset, 0
    )
    return bytes(out)
