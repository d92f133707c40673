"""fastzips3 against ``zipfile`` over S3 file objects, on a local SeaweedFS, in one run.

The peers are what users combine today: ``zipfile.ZipFile(fastzips3.RemoteFile(url))`` and
``zipfile.ZipFile(s3fs.S3FileSystem().open(path))`` (s3fs's defaults: 50 MiB read-ahead
blocks). fastzips3 is its native API; its cases pass ``directory_cache=False`` (a cold listing:
one suffix GET), except the warm-listing case (one conditional GET answered 304) and the
indexed cases, which find the listing and the checkpoint index in the bench's cache directory.
The server runs on this machine, over loopback: no network latency (``benchmarks/run.py`` has
the emulated WAN). Clients and the s3fs session are made before the clock starts.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

import fastzips3
from benchmarks import scenarios as sc
from benchmarks.conftest import BUCKET, BenchData, S3Bench, big_rounds, scale_name
from benchmarks.data import (
    BLOB_MEMBER,
    CSV_MEMBER,
    expected_random_crc,
    expected_seek_crc,
    random_positions,
)

RANDOM_READS = sc.RANDOM_READS
RANDOM_SIZE = sc.RANDOM_SIZE
SEEK_AT = sc.SEEK_AT
SEEK_SIZE = sc.SEEK_SIZE
COLD = sc.COLD

#: The readers of every group, and their role for the ratios (render.py).
PEERS = ["zipfile + RemoteFile", "zipfile + s3fs"]
READERS = [*PEERS, "fastzips3"]


class Archives:
    """``big.zip`` and ``many.zip`` on the server, as each reader opens them."""

    def __init__(self, s3: S3Bench) -> None:
        self._s3 = s3
        self._fs = s3.s3fs()
        self._fs.connect()

    def where(self, reader: str, archive: str) -> sc.Where:
        """How ``reader`` opens ``archive`` (``big`` or ``many``)."""
        url = self._s3.big_url if archive == "big" else self._s3.many_url
        client = self._s3.client
        options: dict[str, Any] = {"s3_client": client}
        if reader == "zipfile + RemoteFile":
            return sc.Where(url, options, lambda: fastzips3.RemoteFile(url, s3_client=client))
        if reader == "zipfile + s3fs":
            key = url.removeprefix("s3://")
            return sc.Where(url, options, lambda: self._fs.open(key, "rb"))
        return sc.Where(url, options)


@pytest.fixture(scope="module")
def archives(s3_bench: S3Bench) -> Archives:
    """The archives as every reader opens them."""
    assert s3_bench.big_url.startswith(f"s3://{BUCKET}/")
    return Archives(s3_bench)


@pytest.fixture(scope="module")
def s3_indexed(archives: Archives) -> None:
    """The deflate member's checkpoint index in the bench's cache directory (built once)."""
    from fastzips3._engine.diskcache import wait_for_writes

    where = archives.where("fastzips3", "big")
    with fastzips3.open_archive(where.target, **where.options) as archive:
        archive.build_index(CSV_MEMBER)
    wait_for_writes()


def _role(reader: str) -> str:
    return "zipfile" if reader in PEERS else "fastzips3"


def _run(
    benchmark: BenchmarkFixture, fn: Callable[[], Any], reader: str, what: str, rounds: int
) -> Any:
    return sc.measure(benchmark, fn, label=f"{reader}: {what}", role=_role(reader), rounds=rounds)


def _check(data: bytes, size: int, crc: int) -> None:
    assert len(data) == size
    assert zlib.crc32(data) == crc


# --- listing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", [*READERS, "fastzips3 (warm directory cache)"])
@pytest.mark.benchmark(group="s3: list many.zip")
def test_list(
    benchmark: BenchmarkFixture, archives: Archives, bench_data: BenchData, reader: str
) -> None:
    """Open and list ``many.zip``."""
    if reader in PEERS:
        where = archives.where(reader, "many")
        n = _run(benchmark, lambda: sc.zipfile_list(where), reader, "infolist()", 5)
    elif reader == "fastzips3":
        where = archives.where(reader, "many")
        n = _run(benchmark, lambda: sc.fastzips3_list(where, **COLD), reader, "entries()", 5)
    else:
        where = archives.where("fastzips3", "many")
        n = sc.measure(
            benchmark,
            lambda: sc.fastzips3_list(where),
            label="fastzips3: entries(), listing cached on disk (one conditional GET, 304)",
            role="other",
            rounds=5,
            warmup=1,
        )
    assert n == bench_data.many_entries


# --- whole members ---------------------------------------------------------------------------


@pytest.mark.parametrize("member", [CSV_MEMBER, BLOB_MEMBER], ids=["deflate", "stored"])
@pytest.mark.parametrize("reader", READERS)
def test_read(
    benchmark: BenchmarkFixture,
    archives: Archives,
    bench_data: BenchData,
    reader: str,
    member: str,
) -> None:
    """``read(member)``, the CRC-32 checked by the reader."""
    info = bench_data.csv if member == CSV_MEMBER else bench_data.blob
    benchmark.group = f"s3: read {'deflate' if member == CSV_MEMBER else 'stored'} member"
    where = archives.where(reader, "big")
    if reader in PEERS:
        data = _run(
            benchmark, lambda: sc.zipfile_read(where, member), reader, "read()", big_rounds()
        )
    else:
        data = _run(
            benchmark,
            lambda: sc.fastzips3_read(where, member, **COLD),
            reader,
            "read()",
            big_rounds(),
        )
    _check(data, info.file_size, info.crc)


@pytest.mark.parametrize("indexed", [False, True], ids=["sequential", "parallel"])
@pytest.mark.benchmark(group="s3: deflate member, parallel from its index")
def test_parallel(
    benchmark: BenchmarkFixture,
    request: pytest.FixtureRequest,
    archives: Archives,
    bench_data: BenchData,
    indexed: bool,
) -> None:
    """fastzips3's sequential read vs ``read`` decoding in parallel from the cached index."""
    where = archives.where("fastzips3", "big")
    if indexed:
        request.getfixturevalue("s3_indexed")
        data = sc.measure(
            benchmark,
            lambda: sc.fastzips3_read_parallel(where, CSV_MEMBER),
            label="fastzips3: read(), parallel from the cached index",
            role="fastzips3",
            rounds=big_rounds(),
        )
    else:
        data = sc.measure(
            benchmark,
            lambda: sc.fastzips3_read(where, CSV_MEMBER, **COLD),
            label="fastzips3: read(), sequential (no index)",
            role="sequential",
            rounds=big_rounds(),
        )
    _check(data, bench_data.csv.file_size, bench_data.csv.crc)


@pytest.mark.parametrize("archive", ["big", "many"])
@pytest.mark.parametrize("reader", READERS)
def test_testzip(
    benchmark: BenchmarkFixture, archives: Archives, reader: str, archive: str
) -> None:
    """``testzip()`` vs fastzips3 reading every member with its CRC checked."""
    benchmark.group = f"s3: test every member of {archive}.zip"
    if archive == "many" and reader == "fastzips3" and scale_name() == "full":
        pytest.skip(
            "fastzips3 makes one GET per member's local header here (~5 ms each on the small "
            "scale's 10,000 entries), so 100,000 entries would take minutes per round"
        )
    where = archives.where(reader, archive)
    rounds = 1 if archive == "many" else big_rounds()
    if reader in PEERS:
        bad = _run(benchmark, lambda: sc.zipfile_testzip(where), reader, "testzip()", rounds)
    else:
        bad = _run(
            benchmark,
            lambda: sc.fastzips3_testzip(where, **COLD),
            reader,
            "every member read, CRC checked",
            rounds,
        )
    assert bad is None


# --- random access ---------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.benchmark(group="s3: 1,000 random 4 KiB reads, stored member")
def test_random(
    benchmark: BenchmarkFixture, archives: Archives, bench_data: BenchData, reader: str
) -> None:
    """Seeded 4 KiB reads (zipfile's file object seeks to the member's data; see scenarios).

    One round each: s3fs fetches a 50 MiB block for nearly every read (about a minute).
    """
    blob = bench_data.blob
    positions = random_positions(2026, RANDOM_READS, blob.file_size, RANDOM_SIZE)
    crc = expected_random_crc(bench_data.big, blob.data_offset, positions, RANDOM_SIZE)
    where = archives.where(reader, "big")
    if reader in PEERS:
        got = _run(
            benchmark,
            lambda: sc.zipfile_seek_reads(where, BLOB_MEMBER, positions, RANDOM_SIZE),
            reader,
            "file seek + read",
            1,
        )
    else:
        got = _run(
            benchmark,
            lambda: sc.fastzips3_seek_reads(where, BLOB_MEMBER, positions, RANDOM_SIZE, **COLD),
            reader,
            "open() + seek/read",
            1,
        )
    assert got == crc


@pytest.fixture(scope="module")
def seek_case(bench_data: BenchData) -> tuple[int, int]:
    """The offset and the CRC-32 of the 1 MiB there (read with stdlib zipfile, locally)."""
    offset = int(bench_data.csv.file_size * SEEK_AT)
    return offset, expected_seek_crc(bench_data.big, CSV_MEMBER, offset, SEEK_SIZE)


@pytest.mark.parametrize("reader", [*READERS, "fastzips3 + index"])
@pytest.mark.benchmark(group="s3: seek to 90% of the deflate member, read 1 MiB")
def test_seek(
    benchmark: BenchmarkFixture,
    request: pytest.FixtureRequest,
    archives: Archives,
    seek_case: tuple[int, int],
    reader: str,
) -> None:
    """zipfile decodes up to the offset; fastzips3 starts at the nearest checkpoint if indexed."""
    offset, crc = seek_case
    if reader in PEERS:
        where = archives.where(reader, "big")
        data = _run(
            benchmark,
            lambda: sc.zipfile_seek_read(where, CSV_MEMBER, offset, SEEK_SIZE),
            reader,
            "open() + seek + read",
            big_rounds(),
        )
    elif reader == "fastzips3":
        where = archives.where(reader, "big")
        data = _run(
            benchmark,
            lambda: sc.fastzips3_seek_read(
                where, CSV_MEMBER, offset, SEEK_SIZE, want_index=False, **COLD
            ),
            reader,
            "open() + seek + read, no index",
            big_rounds(),
        )
    else:
        request.getfixturevalue("s3_indexed")
        where = archives.where("fastzips3", "big")
        data = sc.measure(
            benchmark,
            lambda: sc.fastzips3_seek_read(where, CSV_MEMBER, offset, SEEK_SIZE, want_index=True),
            label="fastzips3: open() + seek + read, index and listing cached",
            role="fastzips3",
            rounds=5,
        )
    assert len(data) == SEEK_SIZE
    assert zlib.crc32(data) == crc
