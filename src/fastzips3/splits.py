"""Independent pieces of one member, for reading it in parallel across processes (Dask).

:func:`member_splits` cuts a deflate member at its index checkpoints (building the index once
if needed) into :class:`MemberSplit` values. Each carries what decoding needs (where its
compressed bytes start, the leftover bits and the 32 KiB window), so any worker can decode its
piece with one ranged GET and no index of its own::

    splits = fastzips3.member_splits("s3://bucket/a.zip", "data/big.csv", 16)
    bag = dask.bag.from_sequence(splits, npartitions=len(splits))
    lines = bag.map(fastzips3.read_split, delimiter=b"\\n").map(bytes.splitlines).flatten()

With ``delimiter``, a split owns the records that start in it: it skips a partial first record
(unless it is the first split) and reads past its end to finish its last one, so splits of a
CSV or JSON-lines member give every line exactly once.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastzips3._codecs.zran import Checkpoint, checkpoint_decoder, usable
from fastzips3._format.entry import ZipEntry
from fastzips3.archive import ZipArchive
from fastzips3.errors import DecompressionError
from fastzips3.options import OpenOptions
from fastzips3.paths import archive_for

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = ["MemberSplit", "member_splits", "read_split"]


@dataclass(frozen=True, slots=True)
class MemberSplit:
    """Bytes ``[start, end)`` of one member, with the checkpoint decoding starts from."""

    archive: str
    member: str
    start: int
    end: int
    size: int
    checkpoint: Checkpoint


def member_splits(
    archive: str | os.PathLike[str] | ZipArchive,
    member: str,
    n: int,
    **options: Unpack[OpenOptions],
) -> list[MemberSplit]:
    """About ``n`` splits of ``member`` (at most one per checkpoint), in order.

    Without the compiled core, only checkpoints on a byte boundary start splits.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    opened = (
        archive if isinstance(archive, ZipArchive) else archive_for(os.fspath(archive), options)
    )
    entry = opened.getinfo(member)
    index = opened.index(entry) or opened.build_index(entry)
    points = [cp for cp in index.checkpoints if usable(cp)]
    step = max(1, -(-len(points) // n))
    chosen = points[::step]
    url = opened.url if isinstance(archive, ZipArchive) else os.fspath(archive)
    out = []
    for i, cp in enumerate(chosen):
        end = chosen[i + 1].out_pos if i + 1 < len(chosen) else entry.file_size
        out.append(MemberSplit(url, entry.name, cp.out_pos, end, entry.file_size, cp))
    return out


def read_split(
    split: MemberSplit, *, delimiter: bytes | None = None, **options: Unpack[OpenOptions]
) -> bytes:
    """The bytes of ``split`` (records owned by it, with ``delimiter``). Opens the archive once
    per process (options as for :func:`fastzips3.open_archive`)."""
    archive = archive_for(split.archive, options)
    return _decode(archive, archive.getinfo(split.member), split, delimiter)


def _decode(
    archive: ZipArchive, entry: ZipEntry, split: MemberSplit, delimiter: bytes | None
) -> bytes:
    data_start, data_end = archive.data_span(entry)
    cp = split.checkpoint
    raw = archive.raw_stream(data_start + cp.raw_start, data_end)
    buf = bytearray()
    try:
        decoder = checkpoint_decoder(raw.read, cp, name=entry.name)
        pos = cp.out_pos
        target = split.end
        while True:
            chunk = decoder.read(1 << 20)
            if not chunk:
                break
            buf += chunk
            pos += len(chunk)
            if pos < target:
                continue
            if delimiter is None:
                break
            # the last record owned ends at the first delimiter that ends at or after ``end``
            found = buf.find(delimiter, max(0, split.end - len(delimiter) - cp.out_pos))
            if found >= 0:
                del buf[found + len(delimiter) :]
                break
            target = pos + 1  # the record goes on past what was decoded: decode further
        if pos < min(split.end, split.size):
            raise DecompressionError(
                f"member {entry.name!r}: the data ends at {pos}, before {split.end}",
                name=entry.name,
            )
    finally:
        raw.close()
    skip = split.start - cp.out_pos
    if delimiter is None:
        return bytes(buf[skip : split.end - cp.out_pos])
    if split.start > 0 and not (cp.window + bytes(buf[:skip])).endswith(delimiter):
        # the first record began in the previous split, which owns it
        found = buf.find(delimiter, skip)
        if found < 0 or cp.out_pos + found + len(delimiter) >= split.end:
            return b""
        skip = found + len(delimiter)
    return bytes(buf[skip:])
