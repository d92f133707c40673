"""Checkpoint indexes through the archive API: seeks, persistence, SOZip, parallel reads."""

from __future__ import annotations

import itertools
import struct
import zlib
from pathlib import Path

import pytest

import fastzips3
from fastzips3._accel import CORE
from fastzips3.errors import UnsupportedError
from fastzips3.testing.bigzip import csv_chunks
from tests.helpers.rawzip import RawMember, build_zip
from tests.helpers.sources import RecordingSource

MiB = 1 << 20
SPACING = 1 * MiB
#: Building a checkpoint index needs the compiled core (zlib's Z_BLOCK from Cython).
needs_core = pytest.mark.skipif(CORE is None, reason="the compiled core is not active")


@pytest.fixture(scope="module")
def payload() -> bytes:
    return b"".join(csv_chunks(11, 24 * MiB))


@pytest.fixture
def archive_path(tmp_path: Path, payload: bytes) -> Path:
    path = tmp_path / "idx.zip"
    path.write_bytes(build_zip([RawMember("big.csv", payload, 8), RawMember("s.txt", b"s", 0)]))
    return path


@needs_core
def test_seek_at_90_percent(archive_path: Path, payload: bytes) -> None:
    from fastzips3.sources.local import LocalSource

    with fastzips3.open_archive(archive_path) as archive:
        archive.build_index("big.csv", spacing=SPACING)
    rec = RecordingSource(LocalSource(archive_path))
    with fastzips3.open_archive(rec, tail_size=4096) as archive:
        assert archive.index("big.csv") is not None  # from the on-disk cache
        with archive.open("big.csv") as f:
            before = rec.requests
            target = int(len(payload) * 0.9)
            f.seek(target)
            assert f.read(MiB) == payload[target : target + MiB]
            assert rec.requests - before <= 2
            # one GET from the checkpoint, bounded: reading on is not prefetched in advance
            jump = rec.calls[-1]
            assert jump.end - jump.start <= 3 * MiB
            compressed = sum(c.end - c.start for c in rec.calls[before:])
            assert compressed < 4 * MiB  # one spacing of input, not 90 % of the member


@needs_core
def test_backward_seeks_use_the_index(archive_path: Path, payload: bytes) -> None:
    with fastzips3.open_archive(archive_path) as archive:
        archive.build_index("big.csv", spacing=SPACING)
        with archive.open("big.csv") as f:
            for target in (20 * MiB, 3 * MiB + 7, 15 * MiB, 0, 23 * MiB):
                f.seek(target)
                assert f.read(1000) == payload[target : target + 1000]
            f.seek(0)
            assert f.read() == payload  # from the start, so the CRC is checked too


@needs_core
def test_parallel_read_equals_the_sequential_read(archive_path: Path, payload: bytes) -> None:
    with fastzips3.open_archive(archive_path) as archive:
        assert archive.read_parallel("big.csv", workers=2) == payload
        part = archive.read_parallel("big.csv", start=5 * MiB + 3, end=9 * MiB + 11, workers=2)
        assert part == payload[5 * MiB + 3 : 9 * MiB + 11]
        pieces = list(archive.iter_parallel("big.csv", workers=2))
        assert len(pieces) > 1
        assert zlib.crc32(b"".join(pieces)) == archive.getinfo("big.csv").crc


@needs_core
def test_read_decodes_in_parallel_once_an_index_is_known(
    archive_path: Path, payload: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fastzips3.archive

    monkeypatch.setattr(fastzips3.archive, "_PARALLEL_READ_FROM", 1 * MiB)
    with fastzips3.open_archive(archive_path) as archive:
        calls: list[object] = []
        parallel = archive.read_parallel

        def spy(member: object, **kwargs: object) -> object:
            calls.append(member)
            return parallel(member, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(archive, "read_parallel", spy)
        assert archive.read("big.csv") == payload  # no index yet: sequential
        assert not calls
        archive.build_index("big.csv", spacing=SPACING)
        assert archive.read("big.csv") == payload
        assert len(calls) == 1
        assert archive.read("s.txt") == b"s"  # stored: never parallel
        assert len(calls) == 1


@needs_core
def test_a_parallel_read_into_one_output_checks_the_combined_crc(
    archive_path: Path, payload: bytes
) -> None:
    from fastzips3._indexing import read_parallel

    with fastzips3.open_archive(archive_path) as archive:
        index = archive.build_index("big.csv", spacing=SPACING)
        entry = archive.getinfo("big.csv")
        args = (archive._engine, archive._directory)
        assert read_parallel(*args, entry, index, workers=2) == payload
        assert read_parallel(*args, entry, index, start=5, end=3 * MiB) == payload[5 : 3 * MiB]
        lying = entry._replace(crc=entry.crc ^ 1)
        with pytest.raises(fastzips3.errors.CRCMismatchError, match="CRC-32"):
            read_parallel(*args, lying, index, workers=2)


@needs_core
def test_a_parallel_whole_read_checks_the_crc(archive_path: Path, payload: bytes) -> None:
    from fastzips3._indexing import iter_parallel

    with fastzips3.open_archive(archive_path) as archive:
        index = archive.build_index("big.csv", spacing=SPACING)
        entry = archive.getinfo("big.csv")
        lying = entry._replace(crc=entry.crc ^ 1)
        pieces = iter_parallel(archive._engine, archive._directory, lying, index, workers=2)
        got = bytearray()

        def drain() -> None:
            for piece in pieces:
                got.extend(piece)

        with pytest.raises(fastzips3.errors.CRCMismatchError, match="CRC-32"):
            drain()
        assert len(got) < len(payload)  # the last piece is held back, not handed out
        # a partial range cannot be checked, and is not
        part = iter_parallel(
            archive._engine, archive._directory, lying, index, start=1, end=3 * MiB, workers=2
        )
        assert b"".join(part) == payload[1 : 3 * MiB]


@needs_core
def test_a_changed_archive_ignores_its_old_index(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "c.zip"
    path.write_bytes(build_zip([RawMember("big.csv", payload, 8)]))
    with fastzips3.open_archive(path) as archive:
        archive.build_index("big.csv", spacing=SPACING)
    other = payload[::-1]
    path.write_bytes(build_zip([RawMember("big.csv", other, 8)]))
    with fastzips3.open_archive(path) as archive:
        assert archive.index("big.csv") is None
        with archive.open("big.csv") as f:
            f.seek(10 * MiB)
            assert f.read(100) == other[10 * MiB : 10 * MiB + 100]


@needs_core
def test_a_corrupt_index_is_ignored(archive_path: Path, payload: bytes) -> None:
    import os

    with fastzips3.open_archive(archive_path) as archive:
        archive.build_index("big.csv", spacing=SPACING)
    root = Path(os.environ["FASTZIPS3_CACHE_DIR"]) / "indexes"
    for entry in root.glob("*.zsdc"):
        raw = bytearray(entry.read_bytes())
        raw[-3] ^= 0xFF
        entry.write_bytes(bytes(raw))
    with fastzips3.open_archive(archive_path) as archive:
        assert archive.index("big.csv") is None


def _sozip(name: str, data: bytes, chunk: int) -> bytes:
    """A SOZip member: chunks deflated with full flushes, and its hidden index member."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    parts: list[bytes] = []
    offsets: list[int] = []
    size = 0
    for start in range(0, len(data), chunk):
        if start:
            offsets.append(size)
        piece = c.compress(data[start : start + chunk])
        piece += c.flush(zlib.Z_FULL_FLUSH) if start + chunk < len(data) else c.flush()
        parts.append(piece)
        size += len(piece)
    compressed = b"".join(parts)
    head = struct.pack("<4I2Q", 1, 0, chunk, 8, len(data), len(compressed))
    idx = head + struct.pack(f"<{len(offsets)}Q", *offsets)
    return build_zip(
        [
            RawMember(name, data, 8, compressed=compressed),
            RawMember(f".{name}.sozip.idx", idx, 0),
        ]
    )


def test_sozip_members_use_their_embedded_index(tmp_path: Path, payload: bytes) -> None:
    data = payload[: 6 * MiB]
    path = tmp_path / "so.zip"
    path.write_bytes(_sozip("t.csv", data, 32 << 10))
    with fastzips3.open_archive(path, directory_cache=False) as archive:
        index = archive.index("t.csv")
        assert index is not None
        assert len(index.checkpoints) == len(data) // (32 << 10)
        with archive.open("t.csv") as f:
            f.seek(5 * MiB + 123)
            assert f.read(5000) == data[5 * MiB + 123 : 5 * MiB + 5123]
        assert archive.read_parallel("t.csv") == data


def test_index_refused_for_other_methods(archive_path: Path) -> None:
    with fastzips3.open_archive(archive_path) as archive:
        with pytest.raises(fastzips3.errors.UnsupportedError):
            archive.build_index("s.txt")
        assert archive.index("s.txt") is None


@needs_core
def test_member_splits_cover_the_member_exactly(archive_path: Path, payload: bytes) -> None:
    fastzips3.clear_archive_cache()
    splits = fastzips3.member_splits(str(archive_path), "big.csv", 7)
    assert 2 <= len(splits) <= 7
    assert splits[0].start == 0
    assert splits[-1].end == len(payload)
    assert all(a.end == b.start for a, b in itertools.pairwise(splits))
    pieces = [fastzips3.read_split(s) for s in splits]
    assert b"".join(pieces) == payload
    lines = [fastzips3.read_split(s, delimiter=b"\n") for s in splits]
    assert b"".join(lines) == payload  # every line exactly once, none cut
    assert all(piece.endswith(b"\n") for piece in lines[:-1])
    fastzips3.clear_archive_cache()


@needs_core
def test_an_index_is_built_while_reading_when_asked(archive_path: Path, payload: bytes) -> None:
    with fastzips3.open_archive(archive_path, index_while_reading=True) as archive:
        assert archive.index("big.csv") is None
        assert archive.read("big.csv") == payload
        index = archive.index("big.csv")
        assert index is not None
        assert index.size == len(payload)
        with archive.open("big.csv") as f:
            f.seek(20 * MiB)
            assert f.read(100) == payload[20 * MiB : 20 * MiB + 100]
    with fastzips3.open_archive(archive_path) as again:
        assert again.index("big.csv") is not None  # kept on disk for the next process


@needs_core
def test_a_sidecar_carries_indexes_to_another_machine(
    archive_path: Path, payload: bytes, tmp_path: Path
) -> None:
    sidecar = tmp_path / "idx.zip.zsx"
    with fastzips3.open_archive(archive_path, directory_cache=False) as archive:
        archive.build_index("big.csv", spacing=SPACING)
        assert archive.save_indexes(str(sidecar)) == 1
    with fastzips3.open_archive(archive_path, directory_cache=False) as fresh:
        assert fresh.index("big.csv") is None  # no cache: a machine that never built it
        assert fresh.load_indexes(str(sidecar)) == 1
        with fresh.open("big.csv") as f:
            f.seek(22 * MiB)
            assert f.read(64) == payload[22 * MiB : 22 * MiB + 64]
    other = tmp_path / "other.zip"
    other.write_bytes(build_zip([RawMember("big.csv", payload[::-1], 8)]))
    with fastzips3.open_archive(other, directory_cache=False) as changed:
        assert changed.load_indexes(str(sidecar)) == 0  # another archive: ignored
    sidecar.write_bytes(sidecar.read_bytes()[:-10])
    with fastzips3.open_archive(archive_path, directory_cache=False) as damaged:
        assert damaged.load_indexes(str(sidecar)) == 0


@needs_core
def test_open_then_seek_costs_one_get_each(archive_path: Path, payload: bytes) -> None:
    """Found by the benchmark: opening a member scheduled a second GET before the seek."""
    from fastzips3.sources.local import LocalSource

    with fastzips3.open_archive(archive_path) as archive:
        archive.build_index("big.csv", spacing=SPACING)
    rec = RecordingSource(LocalSource(archive_path))
    with fastzips3.open_archive(rec, tail_size=4096, chunk_size=4 * MiB) as archive:
        listing = rec.requests
        with archive.open("big.csv") as f:
            target = int(len(payload) * 0.9)
            f.seek(target)
            assert f.read(MiB) == payload[target : target + MiB]
        assert rec.requests - listing == 2  # the local header's GET, then the checkpoint's


@pytest.mark.skipif(CORE is not None, reason="the pure fallback runs without the core")
def test_without_the_core_indexes_degrade_honestly(archive_path: Path, payload: bytes) -> None:
    """Building needs the core (a clear UnsupportedError); reading while asked to index still
    reads, just without an index."""
    with fastzips3.open_archive(archive_path, index_while_reading=True) as archive:
        with pytest.raises(UnsupportedError, match="compiled core"):
            archive.build_index("big.csv")
        assert archive.read("big.csv") == payload
        assert archive.index("big.csv") is None
        with archive.open("big.csv") as f:
            f.seek(len(payload) * 9 // 10)
            assert f.read(1000) == payload[len(payload) * 9 // 10 :][:1000]
