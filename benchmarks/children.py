"""What the WAN benchmarks in ``benchmarks/test_*.py`` share: uploading their objects, and running
one side in a fresh interpreter (``python -m benchmarks.<module> ...``) whose last output line
is its JSON result. A fresh child per side keeps the proxy (in the pytest process) from
competing with the reader for the GIL, and gives each side a cold process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server

__all__ = ["run_child", "upload"]

ROOT = Path(__file__).resolve().parents[1]


def upload(server: LocalS3Server, bucket: str, objects: Mapping[str, bytes]) -> None:
    """Put every ``key: body`` of ``objects`` into ``bucket``, 8 at a time."""
    client = server.client()
    try:
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda kv: client.put_object(Bucket=bucket, Key=kv[0], Body=kv[1]),
                    objects.items(),
                )
            )
    finally:
        client.close()


def run_child(
    module: str, args: Sequence[str], env: Mapping[str, str], *, timeout: float
) -> dict[str, Any]:
    """Run ``python -m benchmarks.<module> *args`` with ``env``; its last line, as JSON."""
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise AssertionError(f"{module} {args[0]} child failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
