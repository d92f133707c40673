"""fastzips3 against stdlib ``zipfile`` on local files, side by side in one run.

Every group pairs the two on the same archive; each case opens the archive itself (the listing
is part of every case, as for a user), and its result is checked after the clock stops. The
file is in the page cache for every reader (``bench_data`` reads it once first). Local files
have no directory cache in fastzips3 (it is kept for remote objects only), so every listing is
cold; the sequential fastzips3 cases pass ``directory_cache=False`` so that they never find the
checkpoint index the indexed cases use.
"""

from __future__ import annotations

import zlib

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from benchmarks import scenarios as sc
from benchmarks.conftest import BenchData, big_rounds
from benchmarks.data import (
    BLOB_MEMBER,
    CSV_MEMBER,
    expected_random_crc,
    expected_seek_crc,
    random_positions,
)
from benchmarks.readers import read_exactly

RANDOM_READS = sc.RANDOM_READS
RANDOM_SIZE = sc.RANDOM_SIZE
SEEK_AT = sc.SEEK_AT
SEEK_SIZE = sc.SEEK_SIZE
NO_CACHE = sc.COLD


@pytest.fixture(scope="module")
def local(bench_data: BenchData) -> sc.Where:
    """``big.zip`` as a local path."""
    return sc.Where(str(bench_data.big))


@pytest.fixture(scope="module")
def local_many(bench_data: BenchData) -> sc.Where:
    """``many.zip`` as a local path."""
    return sc.Where(str(bench_data.many))


@pytest.fixture(scope="module")
def indexed(bench_data: BenchData) -> float:
    """Build the deflate member's checkpoint index into the on-disk cache (once).

    Returns the seconds the build took. Cases that open the archive with the default options
    then find it there, as a user does after ``fastzips3 index`` or an earlier ``build_index``.
    """
    import time

    import fastzips3
    from fastzips3._engine.diskcache import wait_for_writes

    t0 = time.perf_counter()
    with fastzips3.open_archive(bench_data.big) as archive:
        archive.build_index(CSV_MEMBER)
    wait_for_writes()
    return time.perf_counter() - t0


def _check_member(data: bytes | None, size: int, crc: int) -> None:
    assert data is not None
    assert len(data) == size
    assert zlib.crc32(data) == crc


# --- listing ---------------------------------------------------------------------------------

LIST = "local: list many.zip"


@pytest.mark.benchmark(group=LIST)
def test_list_zipfile(
    benchmark: BenchmarkFixture, local_many: sc.Where, bench_data: BenchData
) -> None:
    """``zipfile.ZipFile(p).infolist()``."""
    n = sc.measure(
        benchmark,
        lambda: sc.zipfile_list(local_many),
        label="zipfile.ZipFile(p).infolist()",
        role="zipfile",
        rounds=5,
        warmup=1,
    )
    assert n == bench_data.many_entries


@pytest.mark.benchmark(group=LIST)
def test_list_fastzips3(
    benchmark: BenchmarkFixture, local_many: sc.Where, bench_data: BenchData
) -> None:
    """``fastzips3.open_archive(p).entries()`` (native API)."""
    n = sc.measure(
        benchmark,
        lambda: sc.fastzips3_list(local_many),
        label="fastzips3.open_archive(p).entries()",
        role="fastzips3",
        rounds=10,
        warmup=1,
    )
    assert n == bench_data.many_entries


@pytest.mark.benchmark(group=LIST)
def test_list_dropin(
    benchmark: BenchmarkFixture, local_many: sc.Where, bench_data: BenchData
) -> None:
    """``fastzips3.ZipFile(p).infolist()`` (drop-in API)."""
    n = sc.measure(
        benchmark,
        lambda: sc.dropin_list(local_many),
        label="fastzips3.ZipFile(p).infolist()",
        role="fastzips3",
        rounds=10,
        warmup=1,
    )
    assert n == bench_data.many_entries


# --- the deflate member ----------------------------------------------------------------------

DEFLATE = "local: read deflate member"


@pytest.mark.benchmark(group=DEFLATE)
def test_deflate_zipfile(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """``zipfile.ZipFile(p).read(name)``."""
    data = sc.measure(
        benchmark,
        lambda: sc.zipfile_read(local, CSV_MEMBER),
        label="zipfile read()",
        role="zipfile",
        rounds=big_rounds(),
    )
    _check_member(data, bench_data.csv.file_size, bench_data.csv.crc)


@pytest.mark.benchmark(group=DEFLATE)
def test_deflate_zipfile_stream(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """``zipfile`` ``open(name)`` read in 8 MiB pieces."""
    n = sc.measure(
        benchmark,
        lambda: sc.zipfile_stream(local, CSV_MEMBER),
        label="zipfile open() + read(8 MiB)",
        role="other",
        rounds=big_rounds(),
    )
    assert n == bench_data.csv.file_size


@pytest.mark.benchmark(group=DEFLATE)
def test_deflate_isal_baseline(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """python-isal ``decompressobj(-15)`` + ``zlib.crc32`` on the compressed bytes in memory."""
    from isal import isal_zlib

    info = bench_data.csv
    with open(local.target, "rb") as f:
        f.seek(info.data_offset)
        compressed = read_exactly(f, info.compress_size)

    def inflate() -> int:
        d = isal_zlib.decompressobj(-15)
        out = d.decompress(compressed)
        out += d.flush()
        if len(out) != info.file_size or zlib.crc32(out) != info.crc:
            raise RuntimeError("python-isal baseline: wrong output")
        return len(out)

    n = sc.measure(
        benchmark,
        inflate,
        label="python-isal decompressobj(-15) + zlib.crc32, in memory",
        role="isal",
        rounds=big_rounds(),
    )
    assert n == info.file_size


@pytest.mark.benchmark(group=DEFLATE)
def test_deflate_fastzips3(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """``fastzips3.open_archive(p).read(name)`` with no index (sequential decoding)."""
    data = sc.measure(
        benchmark,
        lambda: sc.fastzips3_read(local, CSV_MEMBER, **NO_CACHE),
        label="fastzips3 read()",
        role="fastzips3",
        rounds=big_rounds(),
    )
    _check_member(data, bench_data.csv.file_size, bench_data.csv.crc)


@pytest.mark.benchmark(group=DEFLATE)
def test_deflate_fastzips3_stream(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """fastzips3 ``archive.open(name)`` read in 8 MiB pieces (CRC checked at the end)."""
    n = sc.measure(
        benchmark,
        lambda: sc.fastzips3_stream(local, CSV_MEMBER, **NO_CACHE),
        label="fastzips3 open() + read(8 MiB)",
        role="fastzips3",
        rounds=big_rounds(),
    )
    assert n == bench_data.csv.file_size


@pytest.mark.benchmark(group=DEFLATE)
def test_deflate_dropin(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """``fastzips3.ZipFile(p).read(name)``."""
    data = sc.measure(
        benchmark,
        lambda: sc.dropin_read(local, CSV_MEMBER, **NO_CACHE),
        label="fastzips3.ZipFile(p).read()",
        role="fastzips3",
        rounds=big_rounds(),
    )
    _check_member(data, bench_data.csv.file_size, bench_data.csv.crc)


# --- parallel decoding from the index ------------------------------------------------------

PARALLEL = "local: deflate member, parallel from its index"


@pytest.mark.benchmark(group=PARALLEL)
def test_parallel_sequential(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """The sequential read (no index), the reference of this group."""
    data = sc.measure(
        benchmark,
        lambda: sc.fastzips3_read(local, CSV_MEMBER, **NO_CACHE),
        label="fastzips3 read(), sequential (no index)",
        role="sequential",
        rounds=big_rounds(),
    )
    _check_member(data, bench_data.csv.file_size, bench_data.csv.crc)


@pytest.mark.benchmark(group=PARALLEL)
def test_parallel_indexed(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData, indexed: float
) -> None:
    """``archive.read(name)`` with the index in the on-disk cache: decoded in parallel."""
    import os

    benchmark.extra_info["index_build_seconds"] = round(indexed, 3)
    data = sc.measure(
        benchmark,
        lambda: sc.fastzips3_read_parallel(local, CSV_MEMBER),
        label=f"fastzips3 read(), parallel from the index ({os.cpu_count()} workers)",
        role="fastzips3",
        rounds=big_rounds(),
    )
    _check_member(data, bench_data.csv.file_size, bench_data.csv.crc)


@pytest.mark.benchmark(group=PARALLEL)
def test_parallel_iter(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData, indexed: float
) -> None:
    """``archive.iter_parallel(name)`` with the index in the cache: pieces, not one buffer."""
    n = sc.measure(
        benchmark,
        lambda: sc.fastzips3_iter_parallel(local, CSV_MEMBER),
        label="fastzips3 iter_parallel() from the index (pieces, CRC checked)",
        role="fastzips3",
        rounds=big_rounds(),
    )
    assert n == bench_data.csv.file_size


# --- the stored member -----------------------------------------------------------------------

STORED = "local: read stored member"


@pytest.mark.benchmark(group=STORED)
def test_stored_zipfile(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """``zipfile.ZipFile(p).read(name)``."""
    data = sc.measure(
        benchmark,
        lambda: sc.zipfile_read(local, BLOB_MEMBER),
        label="zipfile read()",
        role="zipfile",
        rounds=big_rounds(),
    )
    _check_member(data, bench_data.blob.file_size, bench_data.blob.crc)


@pytest.mark.benchmark(group=STORED)
def test_stored_fastzips3(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """``fastzips3.open_archive(p).read(name)``."""
    data = sc.measure(
        benchmark,
        lambda: sc.fastzips3_read(local, BLOB_MEMBER, **NO_CACHE),
        label="fastzips3 read()",
        role="fastzips3",
        rounds=big_rounds(),
    )
    _check_member(data, bench_data.blob.file_size, bench_data.blob.crc)


@pytest.mark.benchmark(group=STORED)
def test_stored_fastzips3_stream(
    benchmark: BenchmarkFixture, local: sc.Where, bench_data: BenchData
) -> None:
    """fastzips3 ``archive.open(name)`` read in 8 MiB pieces."""
    n = sc.measure(
        benchmark,
        lambda: sc.fastzips3_stream(local, BLOB_MEMBER, **NO_CACHE),
        label="fastzips3 open() + read(8 MiB)",
        role="fastzips3",
        rounds=big_rounds(),
    )
    assert n == bench_data.blob.file_size


# --- CRC of every member ---------------------------------------------------------------------

TESTZIP_BIG = "local: test every member of big.zip"
TESTZIP_MANY = "local: test every member of many.zip"


@pytest.mark.parametrize(
    ("group", "archive"),
    [pytest.param(TESTZIP_BIG, "big", id="big"), pytest.param(TESTZIP_MANY, "many", id="many")],
)
@pytest.mark.parametrize("reader", ["zipfile", "fastzips3", "dropin"])
def test_testzip(
    benchmark: BenchmarkFixture, bench_data: BenchData, group: str, archive: str, reader: str
) -> None:
    """``zipfile.testzip()`` vs fastzips3 reading every member with its CRC checked."""
    benchmark.group = group
    where = sc.Where(str(bench_data.big if archive == "big" else bench_data.many))
    cases = {
        "zipfile": (lambda: sc.zipfile_testzip(where), "zipfile.ZipFile(p).testzip()", "zipfile"),
        "fastzips3": (
            lambda: sc.fastzips3_testzip(where, **NO_CACHE),
            "fastzips3: every member read, CRC checked (what `fastzips3 test` does)",
            "fastzips3",
        ),
        "dropin": (
            lambda: sc.dropin_testzip(where, **NO_CACHE),
            "fastzips3.ZipFile(p).testzip()",
            "fastzips3",
        ),
    }
    fn, label, role = cases[reader]
    bad = sc.measure(benchmark, fn, label=label, role=role, rounds=big_rounds())
    assert bad is None


# --- random access ---------------------------------------------------------------------------

RANDOM = "local: 1,000 random 4 KiB reads, stored member"


@pytest.fixture(scope="module")
def random_case(bench_data: BenchData) -> tuple[list[int], int]:
    """The seeded positions and the CRC-32 of what must be read there."""
    blob = bench_data.blob
    positions = random_positions(2026, RANDOM_READS, blob.file_size, RANDOM_SIZE)
    crc = expected_random_crc(bench_data.big, blob.data_offset, positions, RANDOM_SIZE)
    return positions, crc


@pytest.mark.benchmark(group=RANDOM)
def test_random_zipfile(
    benchmark: BenchmarkFixture, local: sc.Where, random_case: tuple[list[int], int]
) -> None:
    """``zipfile`` finds the member; the file object seeks to its data (see scenarios)."""
    positions, crc = random_case
    got = sc.measure(
        benchmark,
        lambda: sc.zipfile_seek_reads(local, BLOB_MEMBER, positions, RANDOM_SIZE),
        label="zipfile + file seek to the member's data",
        role="zipfile",
        rounds=5,
    )
    assert got == crc


@pytest.mark.benchmark(group=RANDOM)
def test_random_fastzips3(
    benchmark: BenchmarkFixture, local: sc.Where, random_case: tuple[list[int], int]
) -> None:
    """fastzips3 ``archive.open(name)``, then ``seek``/``read(4096)``."""
    positions, crc = random_case
    got = sc.measure(
        benchmark,
        lambda: sc.fastzips3_seek_reads(local, BLOB_MEMBER, positions, RANDOM_SIZE, **NO_CACHE),
        label="fastzips3 open() + seek/read",
        role="fastzips3",
        rounds=5,
    )
    assert got == crc


# --- seek into the deflate member --------------------------------------------------------------

SEEK = "local: seek to 90% of the deflate member, read 1 MiB"


@pytest.fixture(scope="module")
def seek_case(bench_data: BenchData) -> tuple[int, int]:
    """The offset and the CRC-32 of the 1 MiB there (read with stdlib zipfile)."""
    offset = int(bench_data.csv.file_size * SEEK_AT)
    return offset, expected_seek_crc(bench_data.big, CSV_MEMBER, offset, SEEK_SIZE)


@pytest.mark.parametrize("reader", ["zipfile", "fastzips3-no-index", "fastzips3-index"])
@pytest.mark.benchmark(group=SEEK)
def test_seek(
    benchmark: BenchmarkFixture,
    request: pytest.FixtureRequest,
    local: sc.Where,
    seek_case: tuple[int, int],
    reader: str,
) -> None:
    """zipfile decodes up to the offset; fastzips3 starts at the nearest checkpoint if indexed."""
    offset, crc = seek_case
    if reader == "zipfile":
        data = sc.measure(
            benchmark,
            lambda: sc.zipfile_seek_read(local, CSV_MEMBER, offset, SEEK_SIZE),
            label="zipfile open() + seek + read",
            role="zipfile",
            rounds=big_rounds(),
        )
    elif reader == "fastzips3-no-index":
        data = sc.measure(
            benchmark,
            lambda: sc.fastzips3_seek_read(
                local, CSV_MEMBER, offset, SEEK_SIZE, want_index=False, **NO_CACHE
            ),
            label="fastzips3 open() + seek + read, no index",
            role="fastzips3",
            rounds=big_rounds(),
        )
    else:
        request.getfixturevalue("indexed")
        data = sc.measure(
            benchmark,
            lambda: sc.fastzips3_seek_read(local, CSV_MEMBER, offset, SEEK_SIZE, want_index=True),
            label="fastzips3 open() + seek + read, index in the cache",
            role="fastzips3",
            rounds=10,
        )
    assert len(data) == SEEK_SIZE
    assert zlib.crc32(data) == crc
