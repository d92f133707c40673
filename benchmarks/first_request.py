"""What the first request of a fresh process costs: listing big.zip, and the bare GET under it.

Listing a small archive is one GET, so its time is that GET's, and on a fresh client the GET's
own set-up shows. This script times, each in a fresh child after untimed imports and client or
session creation (as in ``benchmarks.run``), interleaved, through the WAN proxy and directly:

- ``botocore get_object``: the 256 KiB suffix GET fastzips3 lists with, body read, nothing else;
- ``botocore presign``: ``generate_presigned_url`` for the object (no request);
- ``fastzips3 s3://``: ``open_archive("s3://...", s3_client=client)`` and its entries;
- ``fastzips3 plain URL``: ``open_archive(http_url)`` on the unsigned URL remotezip reads;
- ``remotezip plain URL``: ``RemoteZip(http_url).infolist()`` with a requests session.

Needs the benchmark's data (``python -m benchmarks.run`` makes ``benchmarks/.data/full/big.zip``).

    python -m benchmarks.first_request [--runs 11]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data" / "full" / "big.zip"
BUCKET = "public"
KEY = "big.zip"

_CHILD = r"""
import sys, time
endpoint, key_id, secret, case = sys.argv[1:5]
url = f"{endpoint}/public/big.zip"
if case == "remotezip plain URL":
    import remotezip, requests
    session = requests.Session()
    def run():
        with remotezip.RemoteZip(url, session=session) as zf:
            assert len(zf.infolist()) == 4
else:
    import boto3
    from botocore.config import Config
    import fastzips3
    import fastzips3.sources.http
    client = boto3.session.Session(
        aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1"
    ).client("s3", endpoint_url=endpoint,
             config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                           retries={"mode": "standard", "total_max_attempts": 3},
                           max_pool_connections=64))
    if case == "botocore get_object":
        def run():
            response = client.get_object(Bucket="public", Key="big.zip", Range="bytes=-262144")
            assert len(response["Body"].read()) == 262144
    elif case == "botocore presign":
        def run():
            client.generate_presigned_url(
                "get_object", Params={"Bucket": "public", "Key": "big.zip"}, ExpiresIn=3600
            )
    elif case == "fastzips3 s3://":
        def run():
            with fastzips3.open_archive("s3://public/big.zip", s3_client=client) as archive:
                assert len(archive.entries()) == 4
    elif case == "fastzips3 plain URL":
        def run():
            with fastzips3.open_archive(url) as archive:
                assert len(archive.entries()) == 4
    else:
        raise SystemExit(f"unknown case {case!r}")
start = time.perf_counter()
run()
print((time.perf_counter() - start) * 1000)
"""

CASES = (
    "botocore get_object",
    "botocore presign",
    "fastzips3 s3://",
    "fastzips3 plain URL",
    "remotezip plain URL",
)


def main() -> int:
    """Run every case ``--runs`` times per profile, interleaved; print medians."""
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.wan import WanProxy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args()
    if not DATA.exists():
        print(f"{DATA} is missing: run `python -m benchmarks.run` once first", file=sys.stderr)
        return 2
    with LocalS3Server() as server:  # its "public" bucket is readable without credentials
        client = server.client()
        client.upload_file(str(DATA), BUCKET, KEY)
        wan = WanProxy(server.endpoint_url)
        direct = WanProxy(server.endpoint_url, latency=0, bandwidth=None)
        wan.start()
        direct.start()
        try:
            for profile, proxy in (("wan", wan), ("direct", direct)):
                times: dict[str, list[float]] = {case: [] for case in CASES}
                for _ in range(args.runs):
                    for case in CASES:
                        with tempfile.TemporaryDirectory() as cache:
                            done = subprocess.run(
                                [
                                    sys.executable,
                                    "-c",
                                    _CHILD,
                                    proxy.url,
                                    server.access_key,
                                    server.secret_key,
                                    case,
                                ],
                                env=dict(os.environ, FASTZIPS3_CACHE_DIR=cache),
                                check=True,
                                capture_output=True,
                                text=True,
                                timeout=120,
                            )
                        times[case].append(float(done.stdout.strip().splitlines()[-1]))
                for case, values in times.items():
                    print(
                        f"{profile:6} {case:20} median {statistics.median(values):6.2f} ms "
                        f"(min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs)",
                        flush=True,
                    )
        finally:
            wan.stop()
            direct.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
