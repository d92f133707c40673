"""fastzips3 demo: a local S3 server, a generated ZIP64 archive of over 1 GB, one listing request,
one streamed member, and what it all cost, counted both by fastzips3 and at a proxy.

Run it with ``./scripts/demo.sh`` (it makes the virtual environment first).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zipfile
from pathlib import Path

import fastzips3
from fastzips3.testing import CountingProxy, LocalS3Server
from fastzips3.testing.bigzip import MemberSpec, write_zip

MEMBERS = [
    MemberSpec("data/measurements.csv", 300 << 20, "csv", zipfile.ZIP_DEFLATED),
    MemberSpec("data/images.bin", 900 << 20),
    MemberSpec("data/labels.csv", 20 << 20, "csv", zipfile.ZIP_DEFLATED),
    MemberSpec("README.txt", 2000, "csv", zipfile.ZIP_STORED),
]


def _mb(n: float) -> str:
    return f"{n / 1e6:,.1f} MB"


def _requests(n: int) -> str:
    return f"{n} request" + ("" if n == 1 else "s")


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated data")
    args = parser.parse_args(argv)

    print("fastzips3 demo")
    with tempfile.TemporaryDirectory(prefix="fastzips3-demo-") as tmp:
        t0 = time.perf_counter()
        path = write_zip(Path(tmp) / "demo.zip", MEMBERS, seed=args.seed, force_zip64=True)
        size = path.stat().st_size
        print(
            f"  generated demo.zip: {_mb(size)}, ZIP64, {len(MEMBERS)} members "
            f"(seed {args.seed}) in {time.perf_counter() - t0:.1f} s"
        )
        with LocalS3Server(buckets=("demo",)) as server:
            print(f"  started a local S3 server (SeaweedFS) at {server.endpoint_url}")
            t0 = time.perf_counter()
            uploader = server.client()
            uploader.upload_file(str(path), "demo", "archives/demo.zip")
            uploader.close()
            print(
                f"  uploaded it to s3://demo/archives/demo.zip in {time.perf_counter() - t0:.1f} s"
            )
            with CountingProxy(server.endpoint_url) as proxy:
                client = server.client(endpoint_url=proxy.url)
                _run(client, proxy, size, Path(tmp) / "cache")
                client.close()
    return 0


def _run(client: object, proxy: CountingProxy, size: int, cache: Path) -> None:
    url = "s3://demo/archives/demo.zip"
    print(f"\nlisting {url}")
    t0 = time.perf_counter()
    # A fresh listing cache: an earlier run's cached listing would turn this into a 304.
    with fastzips3.open_archive(url, s3_client=client, directory_cache=str(cache)) as archive:
        elapsed = time.perf_counter() - t0
        print(f"  {'name':<24} {'size':>14} {'compressed':>14}  method")
        for entry in archive.entries():
            print(
                f"  {entry.name:<24} {entry.file_size:>14,} {entry.compress_size:>14,}  "
                f"{entry.method_name}"
            )
        print(
            f"  listed in {elapsed * 1000:.0f} ms: {_requests(archive.stats.requests)}, "
            f"{_mb(archive.stats.bytes_fetched)} fetched "
            f"(proxy counted {_requests(proxy.count())}, {_mb(proxy.bytes_sent())})"
        )

        name = "data/measurements.csv"
        entry = archive.getinfo(name)
        print(f"\nstreaming {name} ({entry.method_name}, {_mb(entry.file_size)})")
        before = archive.stats.snapshot()
        proxy_before = proxy.count()
        t0 = time.perf_counter()
        total = 0
        with archive.open(name) as member:
            while chunk := member.read(1 << 20):
                total += len(chunk)
        elapsed = time.perf_counter() - t0
        after = archive.stats.snapshot()
        print(
            f"  read {total:,} bytes in {elapsed:.2f} s ({total / elapsed / 1e6:,.0f} MB/s), "
            "size and CRC-32 verified"
        )
        print(
            f"  {_requests(after.requests - before.requests)}, "
            f"{_mb(after.bytes_fetched - before.bytes_fetched)} fetched for "
            f"{_mb(entry.compress_size)} of compressed data "
            f"(proxy counted {_requests(proxy.count() - proxy_before)})"
        )
        print(
            f"\ntotal: {archive.stats.requests} requests, {_mb(archive.stats.bytes_fetched)} "
            f"fetched of a {_mb(size)} archive "
            f"({100 * archive.stats.bytes_fetched / size:.1f}%)"
        )


if __name__ == "__main__":
    raise SystemExit(main())
