"""Seeded generators of large ZIP64 archives, written with the standard library's zipfile.

Content is made from a seeded random block repeated with a counter, so gigabytes are generated
at disk speed and the same seed always gives the same archive.
"""

from __future__ import annotations

import random
import struct
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["MemberSpec", "csv_chunks", "random_chunks", "rewrite_end_as_zip64", "write_zip"]

_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class MemberSpec:
    """One member to generate: ``kind`` is "random" (incompressible) or "csv" (about 3:1)."""

    name: str
    size: int
    kind: str = "random"
    method: int = zipfile.ZIP_STORED


def random_chunks(seed: int, size: int) -> Iterator[bytes]:
    """``size`` incompressible bytes in 1 MiB chunks: a seeded block, varied per chunk."""
    rng = random.Random(seed)
    block = bytearray(rng.randbytes(_CHUNK))
    done = 0
    counter = 0
    while done < size:
        n = min(_CHUNK, size - done)
        block[0:8] = counter.to_bytes(8, "little")
        block[-8:] = (counter ^ seed).to_bytes(8, "little", signed=False)
        yield bytes(block[:n])
        done += n
        counter += 1


def csv_chunks(seed: int, size: int) -> Iterator[bytes]:
    """``size`` bytes of CSV-like text that deflates about 3:1, in 1 MiB chunks."""
    rng = random.Random(seed)
    lines = []
    for i in range(20_000):
        lines.append(
            f"{i},{rng.choice(['alpha', 'beta', 'gamma', 'delta'])},"
            f"{rng.random():.6f},{rng.randrange(10**9)},{rng.choice(['x', 'yy', 'zzz'])}\n"
        )
    text = "".join(lines).encode()
    done = 0
    counter = 0
    while done < size:
        n = min(_CHUNK, size - done)
        start = (counter * 7919) % max(1, len(text) - _CHUNK)
        piece = (text[start:] + text)[:n]
        yield piece
        done += n
        counter += 1


def write_zip(
    path: Path, members: Sequence[MemberSpec], *, seed: int = 0, force_zip64: bool = False
) -> Path:
    """Write an archive of ``members`` to ``path``; ZIP64 wherever sizes or offsets need it.

    ``force_zip64`` writes ZIP64 extra fields in every header and ZIP64 end records even when
    nothing needs them, as ``zip -fz`` does.
    """
    with zipfile.ZipFile(path, "w", allowZip64=True) as zf:
        for index, spec in enumerate(members):
            info = zipfile.ZipInfo(spec.name, date_time=(2025, 6, 1, 12, 0, 0))
            info.compress_type = spec.method
            info.file_size = spec.size  # lets zipfile choose ZIP64 headers up front
            if spec.method == zipfile.ZIP_DEFLATED:
                # fast level 1; the attribute is compress_level from Python 3.13 on
                level = "compress_level" if hasattr(info, "compress_level") else "_compresslevel"
                setattr(info, level, 1)
            chunks = (
                csv_chunks(seed + index, spec.size)
                if spec.kind == "csv"
                else random_chunks(seed + index, spec.size)
            )
            with zf.open(info, "w", force_zip64=force_zip64) as out:
                for chunk in chunks:
                    out.write(chunk)
    if force_zip64:
        rewrite_end_as_zip64(path)
    return path


def rewrite_end_as_zip64(path: Path) -> None:
    """Replace a classic end record by ZIP64 end records (APPNOTE 4.3.14-4.3.16), as
    ``zip -fz`` writes them; an archive that already has them is left alone."""
    with path.open("r+b") as f:
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 65_557))
        tail = f.read()
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or (pos >= 20 and tail[pos - 20 : pos - 16] == b"PK\x06\x07"):
            return  # zipfile already wrote ZIP64 end records
        eocd_at = size - len(tail) + pos
        _, _, _, _, count, cd_size, cd_offset, clen = struct.unpack_from("<4s4H2LH", tail, pos)
        comment = tail[pos + 22 : pos + 22 + clen]
        eocd64 = struct.pack(
            "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count, cd_size, cd_offset
        )
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, eocd_at, 1)
        end = struct.pack(
            "<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, clen
        )
        f.seek(eocd_at)
        f.write(eocd64 + locator + end + comment)
        f.truncate()
