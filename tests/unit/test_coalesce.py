"""Coalesced reads of many members: the span plan (gaps, caps, streamed members), the bounded
parallel fetch (memory, order, cancellation), and ZipArchive.iter_members on it (requests,
every member checked, a bad member in the middle of a run)."""

from __future__ import annotations

import io
import random
import struct
import threading
import time
import zipfile
import zlib
from pathlib import Path

import pytest

import fastzips3
from fastzips3._engine.coalesce import Span, fetch_spans, plan_spans
from fastzips3.errors import CRCMismatchError, MemberNotFoundError, PasswordError
from fastzips3.sources.memory import MemorySource
from tests.corpus.conftest import require_corpus


def _archive(count: int, *, seed: int = 3, big: dict[int, int] | None = None) -> bytes:
    """``count`` small members (stored and deflate, seeded), some made ``big[i]`` bytes."""
    rng = random.Random(seed)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(count):
            size = (big or {}).get(i, rng.randrange(0, 400))
            data = bytes(rng.choice(b"abcdef\n") for _ in range(size))
            method = zipfile.ZIP_DEFLATED if i % 3 else zipfile.ZIP_STORED
            zf.writestr(f"d{i % 7}/m{i:05d}.txt", data, compress_type=method)
    return buf.getvalue()


# --- the plan ------------------------------------------------------------------------------


def test_adjacent_ranges_share_a_span_and_gaps_over_the_threshold_split() -> None:
    ranges = [(0, 100), (100, 250), (260, 300), (1300, 1400), (1400, 1500)]
    spans = plan_spans(ranges, max_gap=10, max_span=10_000)
    assert [(s.start, s.end, s.items) for s in spans] == [
        (0, 300, (0, 1, 2)),
        (1300, 1500, (3, 4)),
    ]
    # a gap of exactly max_gap is fetched; one byte more splits
    assert len(plan_spans([(0, 10), (20, 30)], max_gap=10, max_span=100)) == 1
    assert len(plan_spans([(0, 10), (21, 30)], max_gap=10, max_span=100)) == 2


def test_spans_never_pass_the_cap_and_big_ranges_are_streamed_alone() -> None:
    ranges = [(i * 100, i * 100 + 100) for i in range(50)] + [(5000, 9000), (9000, 9050)]
    spans = plan_spans(ranges, max_gap=0, max_span=1000)
    assert all(s.size <= 1000 for s in spans if not s.streamed)
    streamed = [s for s in spans if s.streamed]
    assert [(s.start, s.end, s.items) for s in streamed] == [(5000, 9000, (50,))]
    covered = sorted(i for s in spans for i in s.items)
    assert covered == list(range(len(ranges)))
    assert spans == sorted(spans, key=lambda s: s.start)


def test_unordered_and_overlapping_ranges() -> None:
    spans = plan_spans([(500, 600), (0, 100), (50, 120), (100, 130)], max_gap=0, max_span=1000)
    assert [(s.start, s.end, s.items) for s in spans] == [(0, 130, (1, 2, 3)), (500, 600, (0,))]
    with pytest.raises(ValueError, match="max_gap"):
        plan_spans([(0, 10)], max_gap=-1, max_span=10)
    with pytest.raises(ValueError, match="ends before it starts"):
        plan_spans([(10, 0)], max_gap=0, max_span=10)


# --- the bounded fetch ---------------------------------------------------------------------


class _Fetches:
    """A fetch that records what is fetched and not yet consumed."""

    def __init__(self, delay: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.outstanding = 0
        self.peak = 0
        self.calls: list[tuple[int, int]] = []
        self.delay = delay

    def __call__(self, start: int, end: int) -> bytes:
        with self.lock:
            self.calls.append((start, end))
            self.outstanding += end - start
            self.peak = max(self.peak, self.outstanding)
        time.sleep(self.delay)
        return bytes(end - start)

    def consumed(self, size: int) -> None:
        with self.lock:
            self.outstanding -= size


def test_fetch_keeps_order_and_its_memory_bound() -> None:
    spans = [Span(i * 1000, i * 1000 + 1000, (i,)) for i in range(40)]
    fetches = _Fetches(delay=0.002)
    seen = []
    for span, data in fetch_spans(fetches, spans, workers=4, max_held=3000):
        assert data is not None and len(data) == span.size
        seen.append(span.start)
        fetches.consumed(span.size)
    assert seen == [s.start for s in spans]
    assert fetches.peak <= 3000


def test_streamed_spans_are_handed_on_unfetched() -> None:
    spans = [Span(0, 10, (0,)), Span(10, 10_000, (1,), streamed=True), Span(10_000, 10_010, (2,))]
    fetches = _Fetches()
    out = [(s.items, d is None) for s, d in fetch_spans(fetches, spans, workers=2, max_held=100)]
    assert out == [((0,), False), ((1,), True), ((2,), False)]
    assert (10, 10_000) not in fetches.calls


def test_closing_early_cancels_the_rest_and_joins_its_threads() -> None:
    spans = [Span(i * 10, i * 10 + 10, (i,)) for i in range(200)]
    fetches = _Fetches(delay=0.01)
    it = fetch_spans(fetches, spans, workers=3, max_held=10_000)
    next(it)
    it.close()
    started = len(fetches.calls)
    time.sleep(0.05)
    assert len(fetches.calls) == started <= 1 + 3
    assert not [t for t in threading.enumerate() if t.name.startswith("fastzips3-span")]


# --- ZipArchive.iter_members ---------------------------------------------------------------


def test_every_member_arrives_checked_in_few_requests() -> None:
    data = _archive(2000)
    with fastzips3.open_archive(MemorySource(data)) as archive:
        before = archive.stats.requests
        got = {e.name: d for e, d in archive.iter_members(max_span=64 << 10)}
        spent = archive.stats.requests - before
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert got == {i.filename: zf.read(i) for i in zf.infolist()}
    assert spent <= len(data) // (64 << 10) + 1  # one GET per 64 KiB span, not per member


def test_selection_glob_names_and_order() -> None:
    data = _archive(300)
    with fastzips3.open_archive(MemorySource(data)) as archive:
        names = [e.name for e, _ in archive.iter_members("d3/*")]
        assert names and all(n.startswith("d3/") for n in names)
        assert names == [n for n in archive.namelist() if n.startswith("d3/")]
        wanted = ["d5/m00019.txt", "d1/m00001.txt"]
        assert [e.name for e, _ in archive.iter_members(wanted)] == sorted(
            wanted, key=archive.namelist().index
        )
        assert list(archive.iter_members("nothing/*")) == []
        with pytest.raises(MemberNotFoundError):
            list(archive.iter_members(["missing.txt"]))


def test_a_bad_member_mid_run_is_named_after_the_others_arrive() -> None:
    data = bytearray(_archive(50))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        victim = zf.infolist()[20]
        other = zf.infolist()[33]
    for info in (victim, other):  # flip a byte of the CRC-32 the central directory declares
        pos = bytes(data).index(b"PK\x01\x02")
        while struct.unpack_from("<L", data, pos + 42)[0] != info.header_offset:
            n, e, c = struct.unpack_from("<HHH", data, pos + 28)
            pos += 46 + n + e + c
        data[pos + 16] ^= 0xFF
    with fastzips3.open_archive(MemorySource(bytes(data))) as archive:
        got: list[str] = []

        def take_all() -> None:
            for entry, content in archive.iter_members():
                assert zlib.crc32(content) == entry.crc
                got.append(entry.name)

        with pytest.raises(CRCMismatchError) as caught:
            take_all()
    assert caught.value.name == victim.filename
    assert victim.filename not in got and other.filename not in got
    assert len(got) == 48
    notes = getattr(caught.value, "__notes__", [])
    assert not notes or other.filename in notes[0]


def test_big_members_stream_and_encrypted_ones_need_the_password() -> None:
    data = _archive(30, big={10: 300_000})
    with fastzips3.open_archive(MemorySource(data)) as archive:
        sizes = {e.name: len(d) for e, d in archive.iter_members(max_span=64 << 10)}
        assert max(sizes.values()) == 300_000 and len(sizes) == 30
    file = require_corpus().root / "files" / "libzip" / "encrypt.zip"
    with fastzips3.open_archive(file) as archive:
        with pytest.raises(PasswordError):
            list(archive.iter_members())
        got = dict(archive.iter_members(password="foo"))
        assert set(got) == {e for e in archive.entries() if not e.is_dir()}
        assert all(zlib.crc32(d) == e.crc for e, d in got.items())


def test_extraction_fetches_spans_not_members(tmp_path: Path) -> None:
    data = _archive(2000)
    with fastzips3.open_archive(MemorySource(data)) as archive:
        before = archive.stats.requests
        report = fastzips3.extract_members(archive, tmp_path / "out", workers=4)
        spent = archive.stats.requests - before
    assert len(report.extracted) == 2000  # no directory entries in this archive
    assert spent <= len(data) // (8 << 20) + 1
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            assert (tmp_path / "out" / info.filename).read_bytes() == zf.read(info)


def test_test_members_reports_each_problem_in_few_requests() -> None:
    data = bytearray(_archive(400, big={200: 300_000}))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        victim = zf.infolist()[123]
    at = victim.header_offset + 30 + len(victim.filename.encode())
    data[at : at + 4] = bytes(b ^ 0x55 for b in data[at : at + 4])  # damage its data
    with fastzips3.open_archive(MemorySource(bytes(data))) as archive:
        before = archive.stats.requests
        results = list(archive.test_members(max_span=64 << 10, workers=2))
        spent = archive.stats.requests - before
    problems = {e.name: p for e, p in results if p is not None}
    assert list(problems) == [victim.filename]
    assert isinstance(problems[victim.filename], fastzips3.errors.FormatError)
    assert [e.name for e, _ in results] == archive.namelist()
    assert spent <= len(data) // (64 << 10) + 2  # spans, and the big member on its own
    with fastzips3.ZipFile(MemorySource(bytes(data))) as zf:
        assert zf.testzip() == victim.filename
