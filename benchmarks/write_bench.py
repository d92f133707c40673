"""Write-side figures (issue 12), side by side in one run, through the WAN proxy on SeaweedFS.

    .venv/bin/python -m benchmarks.write_bench --size-mib 1024

Scenarios (each prints seconds and the bytes the client sent):

- extract a stored member of SIZE to S3: fastzips3.extract_to_s3 (UploadPartCopy) vs boto3
  download + upload;
- extract a deflate member of SIZE to S3 vs reading it with fastzips3 alone;
- append a 10 MB file to an archive of SIZE + 64 MiB: fastzips3.append vs download + zipfile
  append + upload;
- write a text member of SIZE with deflate level 1: ZipWriter to S3 vs zipfile into an s3fs
  file; and ZipWriter with 2 threads vs 1 (to a local file, compression alone).

The WAN proxy adds 30 ms per request and caps each connection's downloads at 100 MB/s; it
does not pace uploads (request bodies), so upload-heavy baselines are favoured here.
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import tempfile
import time
import zipfile
from collections.abc import Callable
from typing import Any

MiB = 1 << 20


def _text(size: int) -> bytes:
    line = b"%09d,some words of a csv-ish text line,42.5,more words to deflate\n"
    out = bytearray()
    i = 0
    while len(out) < size:
        out += line % i
        i += 1
    return bytes(out[:size])


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn`` took and what it returned."""
    t = time.perf_counter()
    value = fn()
    return time.perf_counter() - t, value


def main() -> None:
    """Run every scenario and print one line each."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=256)
    args = parser.parse_args()
    size = args.size_mib * MiB

    import fastzips3
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.wan import WanProxy

    with (
        LocalS3Server() as server,
        WanProxy(server.endpoint_url, latency=0.03, bandwidth=100e6) as wan,
    ):
        opts: dict[str, Any] = {
            "endpoint_url": wan.url,
            "aws_access_key_id": server.access_key,
            "aws_secret_access_key": server.secret_key,
            "region": "us-east-1",
            "directory_cache": False,
        }
        wopts = {k: v for k, v in opts.items() if k != "directory_cache"}
        client = server.client(endpoint_url=wan.url)
        text = _text(size)
        rand = os.urandom(size)
        with fastzips3.ZipWriter("s3://test/bench/src.zip", **wopts) as z:
            z.writestr("stored.bin", rand, compress_type="stored")
            z.writestr("text.csv", text, compresslevel=1)
        print(f"# member size {args.size_mib} MiB; WAN: 30 ms/request, 100 MB/s per connection")

        # 1. stored member to S3
        wan.reset()
        t1, report = timed(
            lambda: fastzips3.extract_to_s3(
                "s3://test/bench/src.zip",
                "s3://test/bench/x1/",
                ["stored.bin"],
                overwrite="always",
                **opts,
            )
        )
        print(
            f"extract stored -> S3 fastzips3: {t1:.2f} s, sent {report.bytes_sent:,} B, "
            f"downloaded {wan.bytes_sent():,} B, copied={report.copied} "
            f"crc-by-S3={report.verified_by_checksum}"
        )
        with fastzips3.open_archive("s3://test/bench/src.zip", **opts) as a:
            start, end = a.data_span("stored.bin")

        def boto_copy() -> None:
            body = client.get_object(
                Bucket="test", Key="bench/src.zip", Range=f"bytes={start}-{end - 1}"
            )["Body"].read()
            client.upload_fileobj(io.BytesIO(body), "test", "bench/x1b/stored.bin")

        t2, _ = timed(boto_copy)
        print(f"extract stored -> S3 boto3 down+up: {t2:.2f} s  (speedup {t2 / t1:.1f}x)")

        # 2. deflate member to S3 vs reading it
        def read_only() -> int:
            n = 0
            with (
                fastzips3.open_archive("s3://test/bench/src.zip", **opts) as a,
                a.open("text.csv") as f,
            ):
                while chunk := f.read(8 * MiB):
                    n += len(chunk)
            return n

        t3, _ = timed(read_only)
        t4, _ = timed(
            lambda: fastzips3.extract_to_s3(
                "s3://test/bench/src.zip",
                "s3://test/bench/x2/",
                ["text.csv"],
                overwrite="always",
                **opts,
            )
        )
        print(f"extract deflate -> S3: {t4:.2f} s; read alone {t3:.2f} s (ratio {t4 / t3:.2f})")

        # 3. append 10 MB
        ten = os.urandom(10_000_000)
        with fastzips3.open_archive("s3://test/bench/src.zip", **opts) as a:
            cd = a.directory.cd_end - a.directory.cd_start
        wan.reset()
        t5, res = timed(
            lambda: fastzips3.append(
                "s3://test/bench/src.zip", {"new.bin": ten}, to="s3://test/bench/app.zip", **wopts
            )
        )
        print(
            f"append 10 MB fastzips3: {t5:.2f} s, sent {res.sent:,} B "
            f"(limit 10 MB + CD {cd:,} + 5 MiB = {10_000_000 + cd + 5 * MiB:,})"
        )

        def naive_append() -> None:
            buf = io.BytesIO(client.get_object(Bucket="test", Key="bench/src.zip")["Body"].read())
            with zipfile.ZipFile(buf, "a") as zf:
                zf.writestr("new.bin", ten)
            buf.seek(0)
            client.upload_fileobj(buf, "test", "bench/app2.zip")

        t6, _ = timed(naive_append)
        print(f"append 10 MB download+zipfile+upload: {t6:.2f} s (speedup {t6 / t5:.1f}x)")

        # 4. deflate level 1 write
        def ours() -> None:
            with fastzips3.ZipWriter("s3://test/bench/w1.zip", level=1, **wopts) as z:
                z.writestr("text.csv", text)

        t7, _ = timed(ours)
        try:
            import s3fs

            fs = s3fs.S3FileSystem(
                key=server.access_key,
                secret=server.secret_key,
                client_kwargs={"endpoint_url": wan.url, "region_name": "us-east-1"},
            )

            def theirs() -> None:
                with (
                    fs.open("test/bench/w2.zip", "wb") as f,
                    zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
                ):
                    zf.writestr("text.csv", text)

            t8, _ = timed(theirs)
            print(
                f"write deflate-1 to S3: fastzips3 {t7:.2f} s; zipfile+s3fs {t8:.2f} s "
                f"(speedup {t8 / t7:.1f}x)"
            )
        except ImportError:
            print(f"write deflate-1 to S3: fastzips3 {t7:.2f} s; s3fs not installed")
        with tempfile.TemporaryDirectory() as tmp:

            def local(workers: int) -> float:
                path = os.path.join(tmp, f"w{workers}.zip")
                dt, _ = timed(lambda: _local_write(path, text, workers))
                return dt

            one, two = local(1), local(2)
            print(
                f"deflate-1 compression, local: 1 thread {one:.2f} s, 2 threads {two:.2f} s "
                f"(parallel {one / two:.2f}x)"
            )
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        print(f"peak RSS of this process (all scenarios, test data held): {peak} MB")


def _local_write(path: str, text: bytes, workers: int) -> None:
    import fastzips3

    with fastzips3.ZipWriter(path, level=1, workers=workers) as z:
        z.writestr("text.csv", text)


if __name__ == "__main__":
    main()
