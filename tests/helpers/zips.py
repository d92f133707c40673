"""Seeded generators of small ZIP archives for unit tests (built with the stdlib's zipfile)."""

from __future__ import annotations

import io
import random
import zipfile
from collections.abc import Iterable

METHODS = {
    "stored": zipfile.ZIP_STORED,
    "deflate": zipfile.ZIP_DEFLATED,
    "bzip2": zipfile.ZIP_BZIP2,
    "lzma": zipfile.ZIP_LZMA,
}


def text_bytes(rng: random.Random, size: int) -> bytes:
    """Compressible CSV-like text."""
    words = [b"alpha", b"beta", b"gamma", b"delta", b"42", b"3.14", b"fastzips3", b"s3"]
    out = bytearray()
    while len(out) < size:
        out += b",".join(rng.choice(words) for _ in range(6)) + b"\n"
    return bytes(out[:size])


def random_bytes(rng: random.Random, size: int) -> bytes:
    """Incompressible bytes."""
    return rng.randbytes(size)


def make_zip(
    members: Iterable[tuple[str, bytes, str]],
    *,
    comment: bytes = b"",
    prefix: bytes = b"",
    force_zip64: bool = False,
) -> bytes:
    """An archive of ``(name, data, method)`` members, optionally after ``prefix`` bytes."""
    buf = io.BytesIO()
    buf.write(prefix)
    with zipfile.ZipFile(buf, "a" if prefix else "w") as zf:
        for name, data, method in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 2, 3, 4, 6))
            info.compress_type = METHODS[method]
            with zf.open(info, "w", force_zip64=force_zip64) as f:
                f.write(data)
        zf.comment = comment
    return buf.getvalue()


def seeded_members(seed: int, count: int, max_size: int) -> list[tuple[str, bytes, str]]:
    """``count`` members with seeded names, sizes, kinds of content and methods."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        size = rng.randrange(0, max_size + 1)
        data = text_bytes(rng, size) if rng.random() < 0.6 else random_bytes(rng, size)
        method = rng.choice(sorted(METHODS))
        out.append((f"dir{i % 3}/file{i:03d}.bin", data, method))
    return out
