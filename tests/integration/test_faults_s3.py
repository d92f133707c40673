"""A 256 MB member streamed through every fault mode: identical bytes, bounded time, and at
most 10% extra bytes fetched; a replaced object is SourceChangedError, never mixed bytes."""

from __future__ import annotations

import tempfile
import time
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import fastzips3
from fastzips3 import errors
from fastzips3.testing import Fault, FaultProxy
from fastzips3.testing.bigzip import MemberSpec, write_zip

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server

KEY = "faults/member256.zip"
MEMBER = "data/blob.bin"
SIZE = 256 << 20
MiB = 1 << 20


class Member:
    """The uploaded archive and what its member must read as."""

    def __init__(self, crc: int, span: int) -> None:
        self.crc = crc
        self.span = span


@pytest.fixture(scope="module")
def member(s3_server: LocalS3Server) -> Member:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.zip"
        write_zip(path, [MemberSpec(MEMBER, SIZE), MemberSpec("small.txt", 100)], seed=256)
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo(MEMBER)
            crc = info.CRC
            span = zf.getinfo("small.txt").header_offset - info.header_offset
        client = s3_server.client()
        client.upload_file(str(path), "public", KEY)
        client.close()
    return Member(crc, span)


@pytest.fixture
def proxy(s3_server: LocalS3Server) -> Iterator[FaultProxy]:
    with FaultProxy(s3_server.endpoint_url) as p:
        yield p


POLICY = fastzips3.RetryPolicy(attempts=6, backoff=0.05, backoff_max=0.5, request_timeout=3.0)


def _stream(proxy: FaultProxy, **options: object) -> tuple[int, int, float]:
    """Read the member through the proxy; return (crc, requests, seconds)."""
    merged: dict[str, object] = {
        "endpoint_url": proxy.url,
        "anonymous": True,
        "retries": POLICY,
        "read_timeout": 2.0,
        "directory_cache": False,
        **options,
    }
    start = time.monotonic()
    with fastzips3.open_archive(f"s3://public/{KEY}", **merged) as archive:  # type: ignore[arg-type]
        proxy.reset()
        crc = 0
        with archive.open(MEMBER) as f:
            while chunk := f.read(4 * MiB):
                crc = zlib.crc32(chunk, crc)
    return crc, proxy.count(), time.monotonic() - start


FAULTS = {
    "reset mid-body": [
        Fault("reset", nth=2, after_bytes=3 * MiB),
        Fault("reset", nth=9, after_bytes=100),
    ],
    "503 SlowDown": [Fault("status", nth=1, status=503), Fault("status", nth=5, status=503)],
    "500 InternalError": [Fault("status", nth=3, status=500)],
    "429 TooManyRequests": [Fault("status", nth=4, status=429)],
    "truncated body": [Fault("truncate", nth=2, after_bytes=5 * MiB)],
    "stall": [Fault("stall", nth=3, after_bytes=1 * MiB, stall_seconds=30)],
    "slow loris": [Fault("slow", nth=2, after_bytes=MiB, rate=64 << 10, stall_seconds=20)],
    "200 with the whole body": [Fault("ignore_range", nth=3)],
}


@pytest.mark.parametrize("mode", list(FAULTS))
def test_each_fault_mode_is_survived(proxy: FaultProxy, member: Member, mode: str) -> None:
    proxy.set_faults(FAULTS[mode])
    crc, requests, seconds = _stream(proxy)
    assert crc == member.crc
    assert proxy.fault_log, "the fault never fired"
    sent = proxy.bytes_sent()
    print(f"fault {mode!r}: {requests} GETs, {sent - member.span} bytes beyond the member span")
    assert sent <= member.span * 1.10, f"{mode}: {sent - member.span} extra bytes"
    assert seconds < 60
    assert requests >= 16  # 16 MiB GETs, plus the retries


def test_retries_exhausted_when_every_get_fails(proxy: FaultProxy, member: Member) -> None:
    proxy.set_faults([Fault("status", nth=None, times=None, status=503)])
    policy = fastzips3.RetryPolicy(attempts=3, backoff=0.01)
    start = time.monotonic()
    with pytest.raises(errors.RetriesExhaustedError) as info:
        _stream(proxy, retries=policy)
    assert len(info.value.history) == 3
    assert "SlowDown" in info.value.history[0]
    assert time.monotonic() - start < 10


def test_object_replaced_between_requests_is_never_mixed(
    s3_server: LocalS3Server, proxy: FaultProxy, member: Member
) -> None:
    key = "faults/replaced.zip"
    client = s3_server.client()
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "a.zip"
        second = Path(tmp) / "b.zip"
        write_zip(first, [MemberSpec(MEMBER, 64 * MiB)], seed=1)
        write_zip(second, [MemberSpec(MEMBER, 64 * MiB)], seed=2)
        client.upload_file(str(first), "public", key)
        replacement = second.read_bytes()

    def replace() -> None:
        client.put_object(Bucket="public", Key=key, Body=replacement)

    proxy.set_faults([Fault("replace", nth=3, replace_with=replace)])
    received = 0
    with fastzips3.open_archive(
        f"s3://public/{key}",
        endpoint_url=proxy.url,
        anonymous=True,
        directory_cache=False,
        retries=POLICY,
    ) as archive:
        proxy.reset()

        def read_all() -> None:
            nonlocal received
            with archive.open(MEMBER) as f:
                while chunk := f.read(MiB):
                    received += len(chunk)

        with pytest.raises(errors.SourceChangedError):
            read_all()
    assert received < 64 * MiB  # stopped, no bytes of the new version were delivered
    assert any(r.status == 412 for r in proxy.records)
    client.close()
