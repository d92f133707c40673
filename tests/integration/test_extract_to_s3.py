"""extract_to_s3 on SeaweedFS: stored members copied server-side with the CRC-32 from S3's part
checksums, compressed ones streamed, small ones coalesced; unsafe keys refused; CRC and upload
failures leave no object and no open upload."""

from __future__ import annotations

import io
import os
import zlib
from typing import TYPE_CHECKING

import pytest

import fastzips3
from fastzips3 import ZipWriter, errors
from fastzips3._format.write import MemberRecord, central_header, end_records, local_header
from fastzips3.testing.faults import Fault, FaultProxy
from tests.integration.test_write_s3 import TEXT, get
from tests.integration.test_write_sink_s3 import FAST, MiB, exists, open_uploads, options

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import LocalS3Server

STORED = os.urandom(12 * MiB + 3)
CONTENTS = {
    "big/stored.bin": STORED,
    "big/text.txt": TEXT,
    "small/a.txt": b"a" * 1000,
    "small/b.txt": b"b" * 100_000,
    "small/ünï.txt": b"unicode",
    "empty.txt": b"",
}


@pytest.fixture(scope="module")
def archive_url(s3_server: LocalS3Server) -> str:
    url = "s3://test/x/src.zip"
    with ZipWriter(url, part_size=5 * MiB, **options(s3_server)) as z:
        z.writestr("big/stored.bin", STORED, compress_type="stored")
        z.writestr("big/text.txt", TEXT)
        z.mkdir("dir")
        for name in ("small/a.txt", "small/b.txt", "small/ünï.txt", "empty.txt"):
            z.writestr(name, CONTENTS[name])
    return url


def test_extract_everything(
    s3_server: LocalS3Server, s3_client: S3Client, archive_url: str
) -> None:
    report = fastzips3.extract_to_s3(archive_url, "s3://test/x/out1", **options(s3_server))
    assert sorted(report.written) == sorted(f"x/out1/{n}" for n in CONTENTS)
    for name, data in CONTENTS.items():
        assert get(s3_client, f"x/out1/{name}") == data, name
    assert report.skipped == ()  # directories are not selected: S3 has none
    assert report.copied == 1
    assert report.verified_by_checksum == 1 and report.unverified == ()
    total = sum(len(v) for v in CONTENTS.values())
    assert report.bytes_sent <= total - len(STORED) + 5 * MiB  # the stored member stayed in S3
    assert open_uploads(s3_client, "x/") == []


def test_overwrite_policies(
    s3_server: LocalS3Server, s3_client: S3Client, archive_url: str
) -> None:
    opts = options(s3_server)
    pick = ["small/a.txt", "big/stored.bin"]
    fastzips3.extract_to_s3(archive_url, "s3://test/x/out2/", pick, **opts)
    s3_client.put_object(Bucket="test", Key="x/out2/small/a.txt", Body=b"mine")
    with pytest.raises(errors.DestinationExistsError):
        fastzips3.extract_to_s3(archive_url, "s3://test/x/out2/", ["small/a.txt"], **opts)
    report = fastzips3.extract_to_s3(
        archive_url, "s3://test/x/out2/", pick, overwrite="never", **opts
    )
    assert sorted(report.skipped) == sorted(pick)
    assert get(s3_client, "x/out2/small/a.txt") == b"mine"
    fastzips3.extract_to_s3(archive_url, "s3://test/x/out2/", pick, overwrite="always", **opts)
    assert get(s3_client, "x/out2/small/a.txt") == CONTENTS["small/a.txt"]
    assert open_uploads(s3_client, "x/") == []


def _raw_zip(members: list[tuple[str, bytes, int, int | None]]) -> bytes:
    """Stored/deflated members; a CRC given in the tuple replaces the true one (corruption)."""
    out = io.BytesIO()
    records = []
    for name, data, method, bad_crc in members:
        raw = name.encode()
        payload = data if method == 0 else zlib.compress(data)[2:-4]
        crc = zlib.crc32(data) if bad_crc is None else bad_crc
        offset = out.tell()
        dt = (2020, 1, 1, 0, 0, 0)
        out.write(
            local_header(
                raw,
                flags=0,
                method=method,
                date_time=dt,
                crc=crc,
                compress_size=len(payload),
                file_size=len(data),
            )
        )
        out.write(payload)
        records.append(MemberRecord(raw, 0, method, dt, crc, len(payload), len(data), offset))
    cd = b"".join(central_header(r) for r in records)
    start = out.tell()
    return out.getvalue() + cd + end_records(entries=len(records), cd_offset=start, cd_size=len(cd))


@pytest.mark.parametrize("name", ["../evil.txt", "/abs.txt", "a/../../b.txt", "ctl\x01.txt"])
def test_unsafe_keys_refused(s3_server: LocalS3Server, s3_client: S3Client, name: str) -> None:
    key = "x/unsafe.zip"
    s3_client.put_object(
        Bucket="test", Key=key, Body=_raw_zip([("ok.txt", b"ok", 0, None), (name, b"x", 0, None)])
    )
    with pytest.raises(errors.UnsafePathError):
        fastzips3.extract_to_s3(f"s3://test/{key}", "s3://test/x/out3/", **options(s3_server))
    assert not exists(s3_client, "x/out3/ok.txt")


@pytest.mark.parametrize("method", [0, 8])
def test_a_crc_failure_leaves_nothing_of_the_run(
    s3_server: LocalS3Server, s3_client: S3Client, method: int
) -> None:
    key = f"x/badcrc{method}.zip"
    blob = _raw_zip([("bad.bin", STORED, method, 0x1234), ("good.txt", b"good", 0, None)])
    s3_client.put_object(Bucket="test", Key=key, Body=blob)
    with pytest.raises(errors.CRCMismatchError):
        fastzips3.extract_to_s3(
            f"s3://test/{key}",
            f"s3://test/x/out4-{method}/",
            directory_cache=False,
            **options(s3_server),
        )
    assert not exists(s3_client, f"x/out4-{method}/bad.bin")
    # The sound member was written, then deleted with the rest of the failed run.
    assert not exists(s3_client, f"x/out4-{method}/good.txt")
    assert open_uploads(s3_client, "x/") == []


def test_failed_uploads_leave_nothing(
    s3_server: LocalS3Server, s3_client: S3Client, archive_url: str
) -> None:
    faults = [Fault("status", nth=i, status=500, method="PUT") for i in range(0, 400)]
    with FaultProxy(s3_server.endpoint_url, faults) as proxy:
        with pytest.raises(errors.SourceError):
            fastzips3.extract_to_s3(
                archive_url,
                "s3://test/x/out5/",
                retries=FAST,
                directory_cache=False,
                **options(s3_server, proxy.url),
            )
    for name in CONTENTS:
        assert not exists(s3_client, f"x/out5/{name}")
    assert open_uploads(s3_client, "x/") == []


def test_compressed_member_streams_through_a_reused_buffer(
    s3_server: LocalS3Server, s3_client: S3Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deflate member over 8 MiB is decoded into one reused buffer of _READ bytes (an odd
    size here) and uploaded in 8 MiB parts while the next fills: the object is the member."""
    from fastzips3 import s3extract

    monkeypatch.setattr(s3extract, "_READ", 100_003)
    data = b"".join(b"%08d a line of a csv member to stream\n" % i for i in range(600_000))
    url = "s3://test/x/streamed.zip"
    with ZipWriter(url, **options(s3_server)) as z:
        z.writestr("t.csv", data)
    seen: list[int] = []
    report = fastzips3.extract_to_s3(
        url, "s3://test/x/streamed/", on_progress=seen.append, **options(s3_server)
    )
    assert report.written == ("x/streamed/t.csv",) and report.copied == 0
    assert get(s3_client, "x/streamed/t.csv") == data
    assert sum(seen) == len(data) and max(seen) == 100_003
    parts = s3_client.head_object(Bucket="test", Key="x/streamed/t.csv", PartNumber=1)
    assert parts.get("PartsCount", 0) >= 3  # a multipart upload of 8 MiB parts
    assert open_uploads(s3_client, "x/") == []
