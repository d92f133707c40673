"""Peak memory of a fresh process that streams a 1 GiB member over S3 through the WAN proxy.

A new user's loop: ``open_archive("s3://...")``, ``archive.open(member)``, then ``f.read(N)``
until the end. Each (member, N) runs in a fresh child that reports its peak RSS (``VmHWM``;
``ru_maxrss`` beside it), its RSS once the archive is listed (the floor: interpreter, fastzips3,
botocore), its time and throughput; the proxy counts the requests. The member's CRC is checked by
the reader, so a wrong byte fails the run.

Data: ``big.zip`` of ``benchmarks.data`` (seeded: 1 GiB of sensor CSV, deflate level 1, and
1 GiB of random bytes, stored), cached in ``benchmarks/.data/pytest-full``. SeaweedFS
(:class:`fastzips3.testing.LocalS3Server`) serves it; a
:class:`fastzips3.testing.wan.WanProxy` adds 30 ms per request and caps each connection at
100 MB/s, as in ``benchmarks.run``'s WAN profile.

    python -m benchmarks.rss_stream [--runs 3] [--reads 8388608,1048576] [--members stored,deflate]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.data import BLOB_MEMBER, CSV_MEMBER, Recipe, ensure_data

HERE = Path(__file__).resolve().parent
MiB = 1 << 20
BUCKET = "public"
KEY = "big.zip"
#: The recipe of the pytest-benchmark suite's full data (1 GiB members), so both share one file.
RECIPE = Recipe(member_size=1 << 30, member3_size=0, many_entries=100_000)
MEMBERS = {"stored": BLOB_MEMBER, "deflate": CSV_MEMBER}

_CHILD = r"""
import json, resource, sys, time

def vm(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0

endpoint, member, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
import fastzips3
t0 = time.perf_counter()
with fastzips3.open_archive("s3://public/big.zip", endpoint_url=endpoint) as archive:
    listed_rss = vm("VmRSS")
    t1 = time.perf_counter()
    total = 0
    with archive.open(member) as f:
        while True:
            chunk = f.read(size)
            if not chunk:
                break
            total += len(chunk)  # the previous chunk lives until the next read returns
    t2 = time.perf_counter()
print("RESULT " + json.dumps({
    "bytes": total,
    "seconds": t2 - t1,
    "list_seconds": t1 - t0,
    "peak_rss": vm("VmHWM"),
    "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "listed_rss": listed_rss,
}))
"""


def _run_child(
    endpoint: str, env: dict[str, str], member: str, size: int, timeout: float
) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, endpoint, member, str(size)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            result: dict[str, float] = json.loads(line[len("RESULT ") :])
            return result
    raise RuntimeError(f"child failed ({out.returncode}):\n{out.stderr[-3000:]}")


def main(argv: list[str] | None = None) -> int:
    """Generate or reuse the data, start the server and the proxy, run the children."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reads", default=f"{8 * MiB},{MiB}", help="read sizes, comma-separated")
    parser.add_argument("--members", default="stored,deflate")
    parser.add_argument("--latency", type=float, default=0.030)
    parser.add_argument("--bandwidth", type=float, default=100e6)
    parser.add_argument("--timeout", type=float, default=300.0)
    parser.add_argument("--data", type=Path, default=HERE / ".data" / "pytest-full")
    args = parser.parse_args(argv)
    reads = [int(x) for x in args.reads.split(",")]
    members = [MEMBERS[m] for m in args.members.split(",")]

    data = ensure_data(args.data, RECIPE, want_big3=False)
    archive = data.archive(KEY)

    from boto3.s3.transfer import TransferConfig

    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.wan import WanProxy

    with LocalS3Server() as server:
        client = server.client()
        t0 = time.perf_counter()
        config = TransferConfig(multipart_chunksize=64 * MiB, max_concurrency=4)
        client.upload_file(archive.path, BUCKET, KEY, Config=config)
        client.close()
        print(f"uploaded {KEY} ({archive.size / 1e6:,.0f} MB) in {time.perf_counter() - t0:.1f} s")
        with WanProxy(server.endpoint_url, latency=args.latency, bandwidth=args.bandwidth) as proxy:
            env = {**os.environ, **server.env(proxy.url)}
            print(
                f"WAN proxy: {args.latency * 1000:.0f} ms per request, "
                f"{args.bandwidth / 1e6:.0f} MB/s per connection; {args.runs} runs per cell"
            )
            print(
                f"{'member':<18} {'read':>8} {'peak RSS MB':>22} {'ru_maxrss':>10} "
                f"{'listed':>7} {'MB/s':>16} {'GETs':>5}"
            )
            for member in members:
                for size in reads:
                    results = []
                    for _ in range(args.runs):
                        proxy.reset()
                        result = _run_child(proxy.url, env, member, size, args.timeout)
                        result["gets"] = proxy.count("GET")
                        expected = archive.members[member].file_size
                        if result["bytes"] != expected:
                            raise RuntimeError(f"read {result['bytes']} bytes, not {expected}")
                        results.append(result)
                    peaks = [r["peak_rss"] / 1e6 for r in results]
                    rates = [r["bytes"] / r["seconds"] / 1e6 for r in results]
                    print(
                        f"{member:<18} {size // 1024:>6}Ki "
                        f"{statistics.median(peaks):7.1f} ({min(peaks):.0f}-{max(peaks):.0f})"
                        f"{'':>5} "
                        f"{statistics.median(r['ru_maxrss'] for r in results) / 1e6:10.1f} "
                        f"{statistics.median(r['listed_rss'] for r in results) / 1e6:7.1f} "
                        f"{statistics.median(rates):6.0f} ({min(rates):.0f}-{max(rates):.0f}) "
                        f"{statistics.median(r['gets'] for r in results):5.0f}",
                        flush=True,
                    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
