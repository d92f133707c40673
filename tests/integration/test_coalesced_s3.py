"""Coalesced reads of many members on SeaweedFS, counted at a proxy outside fastzips3: the GETs
of iter_members (how many, which ranges, the gap threshold), a bad member in the middle of a
run, and closing early."""

from __future__ import annotations

import io
import random
import re
import struct
import time
import zipfile
import zlib
from typing import TYPE_CHECKING

import pytest

import fastzips3
from fastzips3 import errors

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import CountingProxy, LocalS3Server

_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


def _archive(count: int, seed: int) -> bytes:
    rng = random.Random(seed)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(count):
            data = bytes(rng.choice(b"xyz \n") for _ in range(rng.randrange(20, 600)))
            method = zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED
            zf.writestr(f"recs/{i:05d}.txt", data, compress_type=method)
    return buf.getvalue()


def _gets(proxy: CountingProxy) -> list[tuple[int, int]]:
    """The explicit byte ranges GET at the proxy (the listing's suffix GET left out)."""
    out = []
    for record in proxy.records:
        m = _RANGE.fullmatch(record.range_header or "")
        if record.method == "GET" and m:
            out.append((int(m.group(1)), int(m.group(2)) + 1))
    return out


@pytest.fixture
def client(s3_server: LocalS3Server, s3_proxy: CountingProxy) -> S3Client:
    return s3_server.client(endpoint_url=s3_proxy.url)


def test_two_thousand_members_in_a_few_gets(
    s3_client: S3Client, s3_proxy: CountingProxy, client: S3Client
) -> None:
    data = _archive(3000, 1)
    s3_client.put_object(Bucket="test", Key="coalesce/many.zip", Body=data)
    with fastzips3.open_archive(
        "s3://test/coalesce/many.zip", s3_client=client, directory_cache=False
    ) as archive:
        names = random.Random(2).sample(archive.namelist(), 2000)
        got = dict((e.name, d) for e, d in archive.iter_members(names))
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert got == {n: zf.read(n) for n in names}
    assert s3_proxy.count("GET") <= 5  # the listing and a few 8 MiB spans, not 2,000


def test_the_gap_threshold_splits_spans_and_they_stay_inside_the_members(
    s3_client: S3Client, s3_proxy: CountingProxy, client: S3Client
) -> None:
    data = _archive(400, 3)
    s3_client.put_object(Bucket="test", Key="coalesce/gap.zip", Body=data)
    with fastzips3.open_archive(
        "s3://test/coalesce/gap.zip", s3_client=client, directory_cache=False, tail_size=4096
    ) as archive:
        entries = archive.entries()
        wanted = entries[10:20] + entries[300:305]
        gap = entries[300].header_offset - entries[20].header_offset
        list(archive.iter_members(wanted, max_gap=gap - 1))  # one byte short: two GETs
        split = _gets(s3_proxy)
        before = len(split)
        list(archive.iter_members(wanted, max_gap=gap))  # exactly the gap: one GET
        joined = _gets(s3_proxy)[before:]
    assert sorted(split[-2:]) == [
        (entries[10].header_offset, entries[20].header_offset),
        (entries[300].header_offset, entries[305].header_offset),
    ]
    assert joined == [(entries[10].header_offset, entries[305].header_offset)]


def test_a_bad_member_mid_run_names_itself_and_the_others_arrive(
    s3_client: S3Client, s3_proxy: CountingProxy, client: S3Client
) -> None:
    data = bytearray(_archive(200, 4))
    victim = zipfile.ZipFile(io.BytesIO(bytes(data))).infolist()[77]
    pos = bytes(data).index(b"PK\x01\x02")
    while struct.unpack_from("<L", data, pos + 42)[0] != victim.header_offset:
        n, e, c = struct.unpack_from("<HHH", data, pos + 28)
        pos += 46 + n + e + c
    data[pos + 16] ^= 0xFF  # the central directory's CRC-32 of member 77
    s3_client.put_object(Bucket="test", Key="coalesce/bad.zip", Body=bytes(data))
    got: list[str] = []

    def read_all() -> None:
        with fastzips3.open_archive(
            "s3://test/coalesce/bad.zip", s3_client=client, directory_cache=False
        ) as archive:
            for entry, content in archive.iter_members():
                assert zlib.crc32(content) == entry.crc
                got.append(entry.name)

    with pytest.raises(errors.CRCMismatchError) as caught:
        read_all()
    assert caught.value.name == victim.filename
    assert len(got) == 199 and victim.filename not in got
    assert s3_proxy.count("GET") == 2  # the listing and one span: the bad member cost nothing


def test_closing_early_stops_the_gets(
    s3_client: S3Client, s3_proxy: CountingProxy, client: S3Client
) -> None:
    rng = random.Random(5)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(60):  # 60 x 1 MiB, incompressible: 60 MiB in 8 spans of 8 MiB
            zf.writestr(f"blob/{i:02d}.bin", rng.randbytes(1 << 20))
    s3_client.put_object(Bucket="test", Key="coalesce/big.zip", Body=buf.getvalue())
    with fastzips3.open_archive(
        "s3://test/coalesce/big.zip", s3_client=client, directory_cache=False
    ) as archive:
        members = archive.iter_members(workers=2)
        next(members)
        members.close()
        settled = s3_proxy.count("GET")
        time.sleep(0.5)
        assert s3_proxy.count("GET") == settled
    assert settled <= 1 + 3  # the listing, the span being read and at most 2 in flight
