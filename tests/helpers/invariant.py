"""The one invariant over any bytes: fastzips3 parses them, or raises a fastzips3 error.

Shared by the property tests (hypothesis) and the long fuzz harness in ``fuzz/``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import fastzips3
from fastzips3.errors import FastZipS3Error
from tests.helpers.sources import RecordingSource

READ_BUDGET = 8 << 20


@dataclass(frozen=True)
class Outcome:
    """What fastzips3 made of some bytes: entries and content CRCs, or an error class."""

    error: str | None
    entries: tuple[tuple[str, int, int], ...] = ()
    reads: tuple[str, ...] = ()


def check(data: bytes, *, tail_size: int = 1 << 20, chunk: int = 1 << 20) -> Outcome:
    """Open, list and read ``data``; any exception not from fastzips3 propagates (a bug).

    Also asserts that no request left the object's bounds and that listing never fetched a
    byte twice (so a lying header cannot make fastzips3 request more than the object holds).
    """
    rec = RecordingSource(fastzips3.MemorySource(data))
    try:
        archive = fastzips3.open_archive(rec, tail_size=tail_size)
    except FastZipS3Error as exc:
        _check_requests(rec, len(data), listing=len(rec.calls))
        return Outcome(type(exc).__name__)
    listing = len(rec.calls)
    _check_requests(rec, len(data), listing=listing)
    entries = tuple((e.name, e.file_size, e.crc) for e in archive.entries())
    reads: list[str] = []
    budget = min(READ_BUDGET, chunk * 16384)  # tiny reads: a smaller budget, same coverage
    with archive:
        for entry in archive.entries()[:64]:
            if budget <= 0:
                break
            try:
                with archive.open(entry) as f:
                    crc = 0
                    while budget > 0 and (piece := f.read(min(chunk, budget))):
                        crc = zlib.crc32(piece, crc)
                        budget -= len(piece)
                reads.append(f"{crc:08x}")
            except FastZipS3Error as exc:
                reads.append(type(exc).__name__)
    _check_requests(rec, len(data), listing=listing)
    return Outcome(None, entries, tuple(reads))


def _check_requests(rec: RecordingSource, size: int, *, listing: int) -> None:
    for call in rec.calls:
        if call.start >= 0:
            assert 0 <= call.start <= call.end <= size, f"request {call} outside [0, {size})"
    fetched = sum(c.end - c.start for c in rec.calls[:listing] if c.start >= 0)
    assert fetched <= size, f"listing fetched {fetched} bytes of a {size}-byte object"
