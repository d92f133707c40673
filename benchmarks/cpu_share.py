"""Where the two cores go while the deflate member streams: fastzips3, the proxy, the S3 server.

The parallel-decode target (``iter_parallel`` at least 1.6x the sequential read on 2 cores) is
measured with SeaweedFS and the WAN proxy on the same two cores as the reader. This script runs
the sequential read and ``iter_parallel`` alternately, each in a fresh child, and reports the
CPU seconds each party used: the reader (during the read only, and the decoding within it), the
proxy (this process) and the server. Their sum over two cores bounds how fast any reader can go.

Needs the benchmark's data (``python -m benchmarks.run`` makes ``benchmarks/.data/full/big.zip``).

    python -m benchmarks.cpu_share [--runs 3] [--workers 2] [--direct]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data" / "full" / "big.zip"

_CHILD = r"""
import json, sys, threading, time
import boto3
from botocore.config import Config
from isal.isal_zlib import crc32
import fastzips3
from fastzips3 import _indexing
from fastzips3._codecs import deflate

endpoint, key_id, secret, mode = sys.argv[1:5]
client = boto3.session.Session(
    aws_access_key_id=key_id, aws_secret_access_key=secret, region_name="us-east-1"
).client("s3", endpoint_url=endpoint,
         config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                       max_pool_connections=64))
decode = [0.0]
lock = threading.Lock()

def timed(method):
    def wrapper(*args, **kwargs):
        start = time.thread_time()
        try:
            return method(*args, **kwargs)
        finally:
            with lock:
                decode[0] += time.thread_time() - start
    return wrapper

deflate.DeflateDecoder.read = timed(deflate.DeflateDecoder.read)
_indexing._decode_piece = timed(_indexing._decode_piece)
with fastzips3.open_archive("s3://bench/big.zip", s3_client=client) as archive:
    member = next(e.name for e in archive.entries() if e.compress_type == 8)
    if mode == "index":
        archive.build_index(member)
        sys.exit(0)
    cpu0, t0 = time.process_time(), time.perf_counter()
    size = crc = 0
    if mode == "sequential":
        with archive.open(member) as f:
            while chunk := f.read(1 << 20):
                size += len(chunk)
                crc = crc32(chunk, crc)
    else:
        for chunk in archive.iter_parallel(member, workers=int(mode)):
            size += len(chunk)
            crc = crc32(chunk, crc)
    print(json.dumps({"seconds": time.perf_counter() - t0, "cpu": time.process_time() - cpu0,
                      "decode_cpu": decode[0], "size": size}))
"""


def _process_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and its direct children (``weed mini`` runs as one process)."""
    tick = os.sysconf("SC_CLK_TCK")
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    total = 0.0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    """Run the alternating reads and print one line per run."""
    from fastzips3.testing import LocalS3Server
    from fastzips3.testing.wan import WanProxy

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--direct", action="store_true", help="no latency or bandwidth cap")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"{DATA} is missing: run `python -m benchmarks.run` once first", file=sys.stderr)
        return 2
    with LocalS3Server() as server, tempfile.TemporaryDirectory() as cache:
        client = server.client()
        client.create_bucket(Bucket="bench")
        client.upload_file(str(DATA), "bench", "big.zip")
        proxy = (
            WanProxy(server.endpoint_url, latency=0, bandwidth=None)
            if args.direct
            else WanProxy(server.endpoint_url)
        )
        proxy.start()
        process = server.process
        assert process is not None
        env = dict(os.environ, FASTZIPS3_CACHE_DIR=cache)
        command = [sys.executable, "-c", _CHILD, proxy.url, server.access_key, server.secret_key]
        try:
            subprocess.run([*command, "index"], env=env, check=True, timeout=300)
            for _ in range(args.runs):
                for mode in ("sequential", str(args.workers)):
                    weed0, proxy0 = _process_cpu(process.pid), _own_cpu()
                    done = subprocess.run(
                        [*command, mode],
                        env=env,
                        check=True,
                        capture_output=True,
                        text=True,
                        timeout=300,
                    )
                    weed, proxy_cpu = _process_cpu(process.pid) - weed0, _own_cpu() - proxy0
                    out = json.loads(done.stdout.strip().splitlines()[-1])
                    total = out["cpu"] + proxy_cpu + weed
                    label = "sequential" if mode == "sequential" else f"iter_parallel({mode})"
                    print(
                        f"{label:17} {out['seconds']:.2f} s | reader {out['cpu']:.2f} CPU s "
                        f"(decoding {out['decode_cpu']:.2f}) | proxy {proxy_cpu:.2f} | "
                        f"server {weed:.2f} | all {total:.2f} CPU s: at least "
                        f"{total / 2:.2f} s on 2 cores",
                        flush=True,
                    )
        finally:
            proxy.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
