"""Write-side figures (issue 12), side by side, through the WAN proxy on SeaweedFS.

    flock /tmp/fastzips3-bench.lock \
        .venv/bin/python -m benchmarks.write_bench --size-mib 1024 --runs 3

The archive is the benchmarks' ``big.zip`` (:mod:`benchmarks.data`): a deflate member of
sensor-log CSV (about 3:1 at level 1) and a stored member of random bytes, each of SIZE; at
``--size-mib 1024`` it is the 1.4 GB benchmark archive (reused from ``benchmarks/.data``).
Every operation runs in a fresh child process (``python -m benchmarks.write_bench child ...``),
so each side gets a cold process, the proxy (in this process) does not compete with it for the
GIL, and its peak memory (``VmHWM``) is its own. Sides alternate within each of ``--runs``
rounds; the report gives medians and the ratios of the medians.

Scenarios:

- ``extract-stored``: the stored member to S3: ``fastzips3.extract_to_s3`` (``UploadPartCopy``)
  vs boto3 ranged GETs of the member (10 x 8 MiB in flight, as s3transfer) + ``upload_fileobj``;
- ``extract-deflate``: the deflate member to S3 vs reading it with fastzips3 alone;
- ``append``: a 10 MB file added to the archive (``to=`` another key) vs boto3
  ``download_fileobj`` + ``zipfile`` append + ``upload_fileobj``;
- ``write``: a text member of SIZE (the CSV, from a local file) with deflate level 1:
  ``ZipWriter`` to S3 vs ``zipfile`` into an s3fs file; and ``ZipWriter`` to a local file with
  1 and 2 threads (compression alone);
- ``raw``: what SeaweedFS itself does with 1 member of SIZE through the same proxy: parallel
  ranged GETs, ``UploadPart`` of SIZE from memory, and ``UploadPartCopy`` of the member in
  several part sizes and parallelisms -- with the CPU seconds the ``weed`` process spent.

The WAN proxy adds 30 ms per request and caps each connection's downloads at 100 MB/s; it does
not pace uploads (request bodies), so upload-heavy baselines are favoured. Bytes the client
uploaded are counted at the proxy (request ``Content-Length``), bytes it downloaded too.
Results: ``benchmarks/results/write-wan.{md,json}``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.children import run_child

if TYPE_CHECKING:
    from fastzips3.testing.proxy import ProxyRequest, ProxyResponse

MiB = 1 << 20
GiB = 1 << 30
BUCKET = "bench"
KEY = "write/big.zip"
RESULTS = Path(__file__).resolve().parent / "results"
DATA_ROOT = Path(__file__).resolve().parent / ".data"
TEN_MB = 10_000_000

#: (label, fastzips3 side, baseline side, what the floor says)
SCENARIOS: dict[str, tuple[str, str, str, str]] = {
    "extract-stored": (
        "stored member -> S3",
        "extract-stored-fz",
        "extract-stored-boto3",
        "fastzips3 >= 5x faster than boto3 down+up; < 1 MiB through the client",
    ),
    "extract-deflate": (
        "deflate member -> S3 (vs reading it alone)",
        "extract-deflate-fz",
        "read-deflate-fz",
        "extract within 1.3x of reading alone; <= 150 MB",
    ),
    "append": (
        "append 10 MB",
        "append-fz",
        "append-naive",
        ">= 20x faster than download + zipfile + upload; sent <= 10 MB + CD + 5 MiB",
    ),
    "write": (
        "write a text member, deflate level 1, to S3",
        "write-fz-s3",
        "write-zipfile-s3fs",
        ">= 2x faster than zipfile into an s3fs file",
    ),
    "parallel": (
        "compress one member to a local file, 2 threads vs 1",
        "write-fz-local-2",
        "write-fz-local-1",
        "2 threads >= 1.6x one",
    ),
}
RAW_MODES = (
    "raw-get-8x8",
    "raw-put-8x16",
    "raw-put-4x8",
    "raw-putcrc-4x8",
    "raw-putcrc-4x16",
    "raw-copy-1x64",
    "raw-copy-4x64",
    "raw-copy-8x16",
    "raw-copy-8x64",
    "raw-copy-16x16",
)


class _Proxy:
    """Builds the WAN proxy that also counts the bytes clients upload (lazy import)."""

    @staticmethod
    def make(upstream: str) -> Any:
        from fastzips3.testing.wan import WanProxy

        class UploadCountingProxy(WanProxy):
            """WanProxy + the request body bytes of PUT/POST (``Content-Length``)."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self.uploaded = 0
                self._up_lock = threading.Lock()

            def respond(
                self, request: ProxyRequest, forward: Callable[[], ProxyResponse]
            ) -> ProxyResponse:
                if request.method in ("PUT", "POST"):
                    n = request.header("x-amz-decoded-content-length") or request.header(
                        "content-length"
                    )
                    if n and n.isdigit():
                        with self._up_lock:
                            self.uploaded += int(n)
                return super().respond(request, forward)

            def reset(self) -> None:
                super().reset()
                with self._up_lock:
                    self.uploaded = 0

        return UploadCountingProxy(upstream, latency=0.03, bandwidth=100e6)


def _cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (and its waited-for children), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    ticks = os.sysconf("SC_CLK_TCK")
    return sum(int(x) for x in fields[11:15]) / ticks


def _data(size_mib: int, log: Callable[[str], None]) -> tuple[Path, dict[str, Any]]:
    from benchmarks.data import BLOB_MEMBER, CSV_MEMBER, Recipe, ensure_data

    size = size_mib * MiB
    name = "pytest-full" if size == GiB else f"write-{size_mib}"
    recipe = Recipe(member_size=size, member3_size=0, many_entries=100_000)
    data = ensure_data(DATA_ROOT / name, recipe, want_big3=False, log=log)
    info = data.archive("big.zip")
    csv, blob = info.members[CSV_MEMBER], info.members[BLOB_MEMBER]
    return Path(info.path), {
        "archive_size": info.size,
        "csv": CSV_MEMBER,
        "blob": BLOB_MEMBER,
        "csv_compressed": csv.compress_size,
        "blob_span": [blob.data_offset, blob.data_offset + blob.compress_size],
        "size": size,
    }


def _text_file(size: int, directory: str) -> str:
    from benchmarks.data import sensor_csv_chunks

    path = os.path.join(directory, "text.csv")
    with open(path, "wb") as f:
        for chunk in sensor_csv_chunks(77, size):
            f.write(chunk)
    return path


def main(argv: list[str] | None = None) -> None:
    """Run the scenarios side by side and write the results."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--only", default="", help="comma-separated scenarios (and 'raw'); default: all"
    )
    parser.add_argument("--raw", default="", help="comma-separated raw modes; default: all")
    parser.add_argument("--timeout", type=float, default=900.0, help="per child, seconds")
    parser.add_argument("--out", default="write-wan", help="results/<out>.{md,json}")
    args = parser.parse_args(argv)
    wanted = [s for s in args.only.split(",") if s] or [*SCENARIOS, "raw"]
    archive, facts = _data(args.size_mib, lambda m: print(m, file=sys.stderr))
    tmp = tempfile.mkdtemp(prefix="fastzips3-write-bench-")
    try:
        results = _serve(wanted, args, archive, facts, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()
    _report(results, facts, args, load)


def _serve(
    wanted: list[str], args: argparse.Namespace, archive: Path, facts: dict[str, Any], tmp: str
) -> dict[str, list[dict[str, Any]]]:
    from fastzips3.testing import LocalS3Server

    text = _text_file(facts["size"], tmp) if {"write", "parallel"} & set(wanted) else ""
    with LocalS3Server(buckets=(BUCKET,), public_buckets=()) as server:
        client = server.client()
        client.upload_file(str(archive), BUCKET, KEY)
        client.close()
        proxy = _Proxy.make(server.endpoint_url)
        process = server.process
        weed = process.pid if process is not None else 0
        with proxy:
            env = {**os.environ, **server.env(endpoint_url=proxy.url)}
            ctx = {**facts, "endpoint": proxy.url, "text": text, "tmp": tmp}
            return _measure(wanted, args, env, ctx, proxy, weed)


def _measure(
    wanted: list[str],
    args: argparse.Namespace,
    env: dict[str, str],
    ctx: dict[str, Any],
    proxy: Any,
    weed: int,
) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {}

    def one(mode: str) -> None:
        proxy.reset()
        before = _cpu_seconds(weed)
        result = run_child(
            "write_bench", ["child", mode, json.dumps(ctx)], env, timeout=args.timeout
        )
        result["weed_cpu"] = _cpu_seconds(weed) - before
        records = proxy.records[result.pop("untimed_requests", 0) :]
        result["requests"] = len(records)
        result["downloaded"] = sum(r.bytes_sent for r in records)
        result["uploaded"] = proxy.uploaded
        runs.setdefault(mode, []).append(result)
        print(
            f"{mode}: {result['seconds']:.2f} s, peak {result['peak_rss'] / 1e6:.0f} MB, "
            f"up {result['uploaded']:,} B, down {result['downloaded']:,} B, "
            f"weed cpu {result['weed_cpu']:.1f} s, own cpu {result['cpu']:.1f} s",
            file=sys.stderr,
            flush=True,
        )

    for i in range(args.runs):
        for name in wanted:
            if name == "raw":
                if i == 0:  # the raw figures once: they are the machine's, not ours
                    for mode in RAW_MODES:
                        if not args.raw or mode in args.raw.split(","):
                            one(mode)
                continue
            _, ours, theirs, _ = SCENARIOS[name]
            for mode in (ours, theirs) if i % 2 == 0 else (theirs, ours):
                one(mode)
    return runs


def _median(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def _report(
    runs: dict[str, list[dict[str, Any]]],
    facts: dict[str, Any],
    args: argparse.Namespace,
    load: tuple[float, float, float],
) -> None:
    size = facts["size"]
    lines = [
        "# Write side through the WAN proxy (30 ms/request, 100 MB/s per connection down)",
        "",
        f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores (shared), load average "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end. Members of {size >> 20} MiB; "
        f"archive {facts['archive_size']:,} B. Each operation in a fresh child process; "
        f"medians of {args.runs} runs (sides alternating); peak RSS is the child's VmHWM; "
        "bytes up/down counted at the proxy; weed CPU = seconds the SeaweedFS process spent.",
        "",
        f"Command: `flock /tmp/fastzips3-bench.lock .venv/bin/python -m benchmarks.write_bench "
        f"--size-mib {args.size_mib} --runs {args.runs}`",
        "",
        "| scenario | side | median s | all runs s | peak RSS MB | up B | down B | weed CPU s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary: list[str] = []
    for name, (label, ours, theirs, floor) in SCENARIOS.items():
        if ours not in runs or theirs not in runs:
            continue
        for mode in (ours, theirs):
            r = runs[mode]
            lines.append(
                f"| {label} | {mode} | {_median(r, 'seconds'):.2f} | "
                + ", ".join(f"{x['seconds']:.2f}" for x in r)
                + f" | {max(x['peak_rss'] for x in r) / 1e6:.0f} | {int(_median(r, 'uploaded')):,}"
                f" | {int(_median(r, 'downloaded')):,} | {_median(r, 'weed_cpu'):.1f} |"
            )
        a, b = _median(runs[ours], "seconds"), _median(runs[theirs], "seconds")
        ratio = b / a if name != "extract-deflate" else a / b
        word = "faster" if name != "extract-deflate" else "the time of reading alone"
        summary.append(f"- **{label}**: {ratio:.2f}x {word} (floor: {floor}).")
    lines += ["", "## Against the floors", "", *summary]
    if any(mode in runs for mode in RAW_MODES):
        lines += [
            "",
            f"## What SeaweedFS itself does with {size >> 20} MiB (raw boto3, same proxy)",
            "",
            "| operation | seconds | MB/s | weed CPU s |",
            "|---|---|---|---|",
        ]
        for mode in RAW_MODES:
            if mode in runs:
                raw = runs[mode][0]
                lines.append(
                    f"| {raw['label']} | {raw['seconds']:.2f} | "
                    f"{size / raw['seconds'] / 1e6:.0f} | {raw['weed_cpu']:.1f} |"
                )
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.out}.md").write_text(text)
    (RESULTS / f"{args.out}.json").write_text(
        json.dumps({"load": load, "facts": facts, "runs": runs}, indent=1)
    )


# --- the child side ---------------------------------------------------------------------------


def _pool_get(client: Any, key: str, start: int, end: int, threads: int, part: int) -> bytearray:
    """``[start, end)`` of ``key`` by ranged GETs, ``threads`` in flight, into one buffer."""
    out = bytearray(end - start)
    view = memoryview(out)

    def one(a: int) -> None:
        b = min(end, a + part)
        body = client.get_object(Bucket=BUCKET, Key=key, Range=f"bytes={a}-{b - 1}")["Body"]
        pos = a - start
        while chunk := body.read(1 << 20):
            view[pos : pos + len(chunk)] = chunk
            pos += len(chunk)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(start, end, part)))
    return out


def _raw_copy(client: Any, key: str, start: int, end: int, threads: int, part: int) -> None:
    up = client.create_multipart_upload(Bucket=BUCKET, Key=key, ChecksumAlgorithm="CRC32")
    upload_id = up["UploadId"]

    def one(i: int) -> dict[str, Any]:
        a = start + i * part
        b = min(end, a + part)
        r = client.upload_part_copy(
            Bucket=BUCKET,
            Key=key,
            UploadId=upload_id,
            PartNumber=i + 1,
            CopySource={"Bucket": BUCKET, "Key": KEY},
            CopySourceRange=f"bytes={a}-{b - 1}",
        )["CopyPartResult"]
        return {"PartNumber": i + 1, "ETag": r["ETag"], "ChecksumCRC32": r.get("ChecksumCRC32")}

    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(one, range(-(-(end - start) // part))))
    client.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )


def _raw_put(
    client: Any, key: str, data: bytes, threads: int, part: int, *, crc: bool = False
) -> None:
    import base64
    import zlib

    extra = {"ChecksumAlgorithm": "CRC32"} if crc else {}
    upload_id = client.create_multipart_upload(Bucket=BUCKET, Key=key, **extra)["UploadId"]
    view = memoryview(data)

    def one(i: int) -> dict[str, Any]:
        body = bytes(view[i * part : (i + 1) * part])
        check = {}
        if crc:
            check["ChecksumCRC32"] = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        r = client.upload_part(
            Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=i + 1, Body=body, **check
        )
        return {"PartNumber": i + 1, "ETag": r["ETag"], **check}

    with ThreadPoolExecutor(threads) as pool:
        parts = list(pool.map(one, range(-(-len(data) // part))))
    client.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts}
    )


def _child(mode: str, ctx: dict[str, Any]) -> dict[str, Any]:
    import boto3
    from botocore.config import Config

    from benchmarks.child import peak_rss_bytes

    endpoint = ctx["endpoint"]
    url = f"s3://{BUCKET}/{KEY}"
    opts: dict[str, Any] = {"endpoint_url": endpoint, "directory_cache": False}
    client = boto3.client("s3", endpoint_url=endpoint, config=Config(max_pool_connections=32))
    client.list_objects_v2(Bucket=BUCKET, Prefix="warm/")  # untimed: endpoint rules, credentials
    untimed = 1
    start, end = ctx["blob_span"]
    size = ctx["size"]
    result: dict[str, Any] = {"mode": mode, "label": mode}
    ten = os.urandom(TEN_MB) if mode.startswith("append") else b""
    put_data = os.urandom(size) if mode.startswith("raw-put") else b""  # also raw-putcrc
    import fastzips3

    cpu0 = os.times()
    t0 = time.perf_counter()
    if mode == "extract-stored-fz":
        report = fastzips3.extract_to_s3(
            url, f"s3://{BUCKET}/x1/", [ctx["blob"]], overwrite="always", **opts
        )
        result.update(copied=report.copied, by_checksum=report.verified_by_checksum)
    elif mode == "extract-stored-boto3":
        body = _pool_get(client, KEY, start, end, 10, 8 * MiB)
        client.upload_fileobj(io.BytesIO(body), BUCKET, "x1b/blob.bin")
    elif mode == "extract-deflate-fz":
        fastzips3.extract_to_s3(url, f"s3://{BUCKET}/x2/", [ctx["csv"]], overwrite="always", **opts)
    elif mode == "read-deflate-fz":
        n = 0
        with fastzips3.open_archive(url, **opts) as a, a.open(ctx["csv"]) as f:
            while chunk := f.read(8 * MiB):
                n += len(chunk)
        result["read"] = n
    elif mode == "append-fz":
        wopts = {k: v for k, v in opts.items() if k != "directory_cache"}
        done = fastzips3.append(url, {"new.bin": ten}, to=f"s3://{BUCKET}/app1.zip", **wopts)
        result.update(sent=done.sent, copies=done.copies)
    elif mode == "append-naive":
        buf = io.BytesIO()
        client.download_fileobj(BUCKET, KEY, buf)
        with zipfile.ZipFile(buf, "a") as zf:
            zf.writestr("new.bin", ten)
        buf.seek(0)
        client.upload_fileobj(buf, BUCKET, "app2.zip")
    elif mode == "write-fz-s3":
        with fastzips3.ZipWriter(f"s3://{BUCKET}/w1.zip", level=1, endpoint_url=endpoint) as z:
            z.write(ctx["text"], "text.csv")
    elif mode == "write-zipfile-s3fs":
        import s3fs

        fs = s3fs.S3FileSystem(client_kwargs={"endpoint_url": endpoint})
        with (
            fs.open(f"{BUCKET}/w2.zip", "wb") as f,
            zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        ):
            zf.write(ctx["text"], "text.csv")
    elif mode.startswith("write-fz-local-"):
        workers = int(mode.rsplit("-", 1)[1])
        path = os.path.join(ctx["tmp"], f"w{workers}.zip")
        with fastzips3.ZipWriter(path, level=1, workers=workers) as z:
            z.write(ctx["text"], "text.csv")
        os.unlink(path)
    elif mode.startswith("raw-"):
        kind, shape = mode.split("-")[1:]
        threads, part_mib = (int(x) for x in shape.split("x"))
        part = part_mib * MiB
        if kind == "get":
            _pool_get(client, KEY, start, end, threads, part)
            result["label"] = f"GET the stored member, {threads} x {part_mib} MiB ranges"
        elif kind in ("put", "putcrc"):
            _raw_put(client, "raw/put.bin", put_data, threads, part, crc=kind == "putcrc")
            result["label"] = f"UploadPart from memory, {threads} x {part_mib} MiB parts" + (
                ", ChecksumCRC32" if kind == "putcrc" else ""
            )
        else:
            _raw_copy(client, "raw/copy.bin", start, end, threads, part)
            result["label"] = f"UploadPartCopy of the stored member, {threads} x {part_mib} MiB"
    else:
        raise SystemExit(f"unknown mode {mode}")
    result["seconds"] = time.perf_counter() - t0
    cpu1 = os.times()
    result["cpu"] = cpu1.user - cpu0.user + cpu1.system - cpu0.system
    result["peak_rss"] = peak_rss_bytes()
    result["untimed_requests"] = untimed
    return result


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        print(json.dumps(_child(sys.argv[2], json.loads(sys.argv[3]))))
    else:
        main()
