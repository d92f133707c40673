"""The S3 multipart sink on SeaweedFS: parts, holds and patches, server-side copies with CRC-32,
guards, and faults that must leave no object and no open upload."""

from __future__ import annotations

import os
import zlib
from typing import TYPE_CHECKING, Any

import pytest

from fastzips3 import RetryPolicy, errors
from fastzips3.sinks import open_sink
from fastzips3.sinks.base import CopySpec
from fastzips3.sinks.s3 import MultipartSink
from fastzips3.testing.faults import Fault, FaultProxy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import LocalS3Server

MiB = 1 << 20
FAST = RetryPolicy(attempts=2, backoff=0.01, backoff_max=0.05)


def options(server: LocalS3Server, endpoint: str | None = None) -> dict[str, Any]:
    """Source options for the test server (or a proxy in front of it)."""
    return {
        "endpoint_url": endpoint or server.endpoint_url,
        "aws_access_key_id": server.access_key,
        "aws_secret_access_key": server.secret_key,
        "region": "us-east-1",
    }


def open_uploads(client: S3Client, prefix: str) -> list[str]:
    """Keys of the multipart uploads still open under ``prefix``."""
    listed = client.list_multipart_uploads(Bucket="test", Prefix=prefix)
    return [u["Key"] for u in listed.get("Uploads", [])]


def exists(client: S3Client, key: str) -> bool:
    """Whether ``key`` exists in the test bucket."""
    try:
        client.head_object(Bucket="test", Key=key)
    except client.exceptions.ClientError:
        return False
    return True


def write_and_commit(sink: Any, *chunks: bytes) -> None:
    """Write ``chunks`` and commit, aborting on failure (as a ``with`` block does)."""
    with sink:
        for chunk in chunks:
            sink.write(chunk)
        sink.commit()


def test_parts_holds_and_patch(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    key = "sink/parts.bin"
    data = bytearray(os.urandom(13 * MiB + 123))
    sink = open_sink(f"s3://test/{key}", options=options(s3_server), workers=2, part_size=5 * MiB)
    assert isinstance(sink, MultipartSink)
    with sink:
        sink.write(b"\0" * 100)
        token = sink.hold(0, 100)
        sink.write(data[100:])
        assert sink.position == len(data)
        sink.patch(0, bytes(data[:100]))
        sink.release(token)
        result = sink.commit()
    assert result.parts == 3 and result.size == len(data)
    body = s3_client.get_object(Bucket="test", Key=key)["Body"].read()
    assert body == data
    assert open_uploads(s3_client, "sink/") == []


def test_small_object_is_one_put(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    key = "sink/small.bin"
    with open_sink(f"s3://test/{key}", options=options(s3_server)) as sink:
        sink.write(b"hello")
        token = sink.hold(0, 2)
        sink.patch(0, b"HE")
        sink.release(token)
        result = sink.commit()
    assert result.parts == 1
    assert s3_client.get_object(Bucket="test", Key=key)["Body"].read() == b"HEllo"


def test_copy_range_crc_from_part_checksums(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    src = os.urandom(23 * MiB)
    s3_client.put_object(Bucket="test", Key="sink/src.bin", Body=src)
    etag = s3_client.head_object(Bucket="test", Key="sink/src.bin")["ETag"]
    spec = CopySpec("test", "sink/src.bin", etag=etag, url="s3://test/sink/src.bin")
    fetched: list[tuple[int, int]] = []

    def fetch(a: int, b: int) -> bytes:
        fetched.append((a, b))
        return src[a:b]

    key = "sink/copied.bin"
    with open_sink(f"s3://test/{key}", options=options(s3_server), workers=2) as sink:
        sink.write(b"head")
        crc = sink.copy_range(spec, 7, len(src) - 3, fetch)
        sink.write(b"tail")
        result = sink.commit()
    expected = b"head" + src[7:-3] + b"tail"
    assert s3_client.get_object(Bucket="test", Key=key)["Body"].read() == expected
    assert crc == zlib.crc32(src[7:-3])
    assert fetched == [(7, 7 + 5 * MiB - 4)]  # only what completes the first part to 5 MiB
    assert result.copies >= 1
    assert result.sent < 5 * MiB + 100


def test_copy_parts_are_cut_for_parallel_copies() -> None:
    """About COPY_SPLIT parts of whole MiB, at least COPY_PART, none but the last under 5 MiB."""
    from fastzips3.sinks import s3 as s3sink

    sink = MultipartSink("s3://test/x", client=None)  # type: ignore[arg-type]
    gib = sink._copy_pieces(0, 1 << 30)
    assert len(gib) == s3sink.COPY_SPLIT and {b - a for a, b in gib} == {64 * MiB}
    small = sink._copy_pieces(3, 3 + 100 * MiB)
    assert small[0] == (3, 3 + s3sink.COPY_PART) and small[-1][1] == 3 + 100 * MiB
    assert all(b - a >= 5 * MiB for a, b in small)
    huge = sink._copy_pieces(0, 40 << 30)
    assert len(huge) <= s3sink.COPY_SPLIT + 1 and all(b - a <= s3sink.MAX_PART for a, b in huge)


def test_copy_range_copies_parts_in_parallel(
    s3_server: LocalS3Server, s3_client: S3Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several UploadPartCopy requests are in flight at once, even for a one-worker sink."""
    from fastzips3.sinks import s3 as s3sink
    from fastzips3.testing.wan import WanProxy

    monkeypatch.setattr(s3sink, "COPY_PART", 5 * MiB)
    src = os.urandom(40 * MiB)
    s3_client.put_object(Bucket="test", Key="sink/par-src.bin", Body=src)
    spec = CopySpec("test", "sink/par-src.bin", url="s3://test/sink/par-src.bin")
    with WanProxy(s3_server.endpoint_url, latency=0.2, bandwidth=None) as proxy:
        sink = open_sink("s3://test/sink/par.bin", options=options(s3_server, proxy.url), workers=1)
        with sink:
            proxy.reset()
            crc = sink.copy_range(spec, 0, len(src), lambda a, b: src[a:b])
            copies_in_flight = proxy.max_in_flight
            result = sink.commit()
    assert result.copies == 8 and result.sent == 0
    assert copies_in_flight >= 4
    assert crc == zlib.crc32(src)
    assert s3_client.get_object(Bucket="test", Key="sink/par.bin")["Body"].read() == src


def test_if_none_match_and_if_match(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    key = "sink/guarded.bin"
    s3_client.put_object(Bucket="test", Key=key, Body=b"old")
    for size in (10, 6 * MiB):
        sink = open_sink(
            f"s3://test/{key}", options=options(s3_server), overwrite=False, part_size=5 * MiB
        )
        with pytest.raises(errors.DestinationExistsError):
            write_and_commit(sink, b"x" * size)
    sink = open_sink(
        f"s3://test/{key}",
        options=options(s3_server),
        if_match='"0123456789abcdef0123456789abcdef"',
        part_size=5 * MiB,
    )
    with pytest.raises(errors.DestinationChangedError):
        write_and_commit(sink, b"y" * 6 * MiB)
    assert s3_client.get_object(Bucket="test", Key=key)["Body"].read() == b"old"
    assert open_uploads(s3_client, "sink/") == []


@pytest.mark.parametrize("nth", [0, 1, 2])
def test_failed_part_aborts_the_upload(
    s3_server: LocalS3Server, s3_client: S3Client, nth: int
) -> None:
    key = f"sink/failed{nth}.bin"
    # every PUT from the nth on fails: some part exhausts its two attempts
    faults = [Fault("status", nth=i, status=500, method="PUT") for i in range(nth, nth + 20)]
    with FaultProxy(s3_server.endpoint_url, faults) as proxy:
        opts = options(s3_server, proxy.url)
        sink = open_sink(
            f"s3://test/{key}", options=opts, part_size=5 * MiB, workers=2, retries=FAST
        )
        with pytest.raises(errors.SourceError):
            write_and_commit(sink, *(os.urandom(4 * MiB) for _ in range(4)))
    assert not exists(s3_client, key)
    assert open_uploads(s3_client, "sink/") == []


def test_one_failed_put_is_retried(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    key = "sink/retried.bin"
    data = os.urandom(11 * MiB)
    faults = [Fault("status", nth=1, status=503, method="PUT")]
    with FaultProxy(s3_server.endpoint_url, faults) as proxy:
        with open_sink(
            f"s3://test/{key}",
            options=options(s3_server, proxy.url),
            part_size=5 * MiB,
            retries=FAST,
        ) as sink:
            sink.write(data)
            sink.commit()
        assert proxy.fault_log
    assert s3_client.get_object(Bucket="test", Key=key)["Body"].read() == data


def test_local_sink_atomic(tmp_path: Any) -> None:
    target = tmp_path / "out.bin"
    with open_sink(str(target)) as sink:
        sink.write(b"0123456789")
        sink.patch(2, b"ab")
        assert not target.exists()
        sink.commit()
    assert target.read_bytes() == b"01ab456789"
    with pytest.raises(errors.DestinationExistsError):
        open_sink(str(target), overwrite=False)
    sink = open_sink(str(target))
    sink.write(b"zzz")
    sink.__exit__(RuntimeError, RuntimeError("boom"), None)
    assert target.read_bytes() == b"01ab456789"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]
