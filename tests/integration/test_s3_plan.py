"""The request plan against a real S3 server (SeaweedFS), counted at a proxy outside fastzips3."""

from __future__ import annotations

import itertools
import random
import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import fastzips3
from fastzips3 import errors
from tests.helpers.zips import make_zip, random_bytes, text_bytes
from tests.integration.conftest import BIG_KEY, BIG_MEMBERS, MANY_KEY, Uploaded

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import CountingProxy, LocalS3Server


def _client(server: LocalS3Server, proxy: CountingProxy) -> S3Client:
    return server.client(endpoint_url=proxy.url)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _ranges(proxy: CountingProxy, size: int) -> list[tuple[int, int]]:
    """Every GET's byte range at the proxy, as half-open [start, end)."""
    out = []
    for record in proxy.records:
        if record.method != "GET":
            continue
        m = _RANGE.fullmatch(record.range_header or "")
        assert m is not None, f"a GET without a range: {record}"
        first, last = m.groups()
        if first == "":
            out.append((size - int(last), size))
        else:
            out.append((int(first), int(last) + 1 if last else size))
    return out


def test_zip64_archive_lists_in_one_request(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, big_archive: Uploaded
) -> None:
    client = _client(s3_server, s3_proxy)
    with fastzips3.open_archive(f"s3://test/{BIG_KEY}", s3_client=client) as archive:
        assert archive.is_zip64
        assert archive.size == big_archive.size > 2 << 30
        assert len(archive) == len(BIG_MEMBERS)
        for entry in archive.entries():
            info = big_archive.infos[entry.name]
            assert (entry.file_size, entry.compress_size, entry.crc, entry.header_offset) == (
                info.file_size,
                info.compress_size,
                info.CRC,
                info.header_offset,
            )
        assert s3_proxy.count() == 1
        assert archive.stats.requests == 1
        assert s3_proxy.records[0].range_header == "bytes=-262144"
        assert s3_proxy.bytes_sent() == archive.stats.bytes_fetched <= 256 << 10
    client.close()


def test_member_within_a_chunk_is_one_get_inside_its_bounds(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, big_archive: Uploaded
) -> None:
    client = _client(s3_server, s3_proxy)
    name = "b/mid.csv"
    info = big_archive.infos[name]
    assert info.compress_size < 8 << 20
    with fastzips3.open_archive(f"s3://test/{BIG_KEY}", s3_client=client) as archive:
        s3_proxy.reset()
        assert len(archive.read(name)) == info.file_size
        ranges = _ranges(s3_proxy, big_archive.size)
        assert ranges == [
            (info.header_offset, big_archive.member_end(name, archive.directory.cd_start))
        ]
        assert s3_proxy.bytes_sent() == ranges[0][1] - ranges[0][0]
    client.close()


def test_larger_member_is_parallel_gets_that_tile_its_span(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, big_archive: Uploaded
) -> None:
    client = _client(s3_server, s3_proxy)
    name = "b/table.csv"
    info = big_archive.infos[name]
    with fastzips3.open_archive(f"s3://test/{BIG_KEY}", s3_client=client) as archive:
        s3_proxy.reset()
        assert len(archive.read(name)) == info.file_size
        ranges = sorted(_ranges(s3_proxy, big_archive.size))
        end = big_archive.member_end(name, archive.directory.cd_start)
        assert ranges[0][0] == info.header_offset
        assert ranges[-1][1] == end
        assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges))  # no gap or overlap
        assert s3_proxy.bytes_sent() == end - info.header_offset
    client.close()


def test_member_in_the_listing_tail_costs_nothing_more(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, big_archive: Uploaded
) -> None:
    client = _client(s3_server, s3_proxy)
    with fastzips3.open_archive(f"s3://test/{BIG_KEY}", s3_client=client) as archive:
        assert len(archive.read("e/tiny.txt")) == 1000
        assert len(archive.read("d/small.csv")) == 300 << 10
        assert s3_proxy.count() == 1
    client.close()


def test_random_4k_reads_in_a_stored_member(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, big_archive: Uploaded
) -> None:
    client = _client(s3_server, s3_proxy)
    name = "c/second.bin"
    size = big_archive.infos[name].file_size
    block = 256 << 10
    rng = random.Random(11)
    with fastzips3.open_archive(f"s3://test/{BIG_KEY}", s3_client=client) as archive:
        with archive.open(name) as f:
            first = f.read(4096)
            s3_proxy.reset()
            positions = [rng.randrange(0, size - 4096) for _ in range(1000)]
            for pos in positions:
                f.seek(pos)
                assert len(f.read(4096)) == 4096
            f.seek(0)
            assert f.read(4096) == first
        requests = s3_proxy.count()
        assert requests <= 1000
        assert s3_proxy.bytes_sent() <= 1000 * block
        lo = big_archive.infos[name].header_offset
        hi = big_archive.member_end(name, archive.directory.cd_start)
        assert all(lo <= s and e <= hi for s, e in _ranges(s3_proxy, big_archive.size))
    client.close()


def test_zipfile_over_remotefile_lists_in_one_request_and_reads_within_bounds(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, big_archive: Uploaded
) -> None:
    client = _client(s3_server, s3_proxy)
    with fastzips3.RemoteFile(f"s3://test/{BIG_KEY}", s3_client=client) as raw:
        zf = zipfile.ZipFile(raw)
        assert [i.filename for i in zf.infolist()] == [m.name for m in BIG_MEMBERS]
        assert s3_proxy.count() <= 2
        name = "b/table.csv"
        info = big_archive.infos[name]
        s3_proxy.reset()
        with zf.open(name) as member:
            total = 0
            while chunk := member.read(1 << 20):
                total += len(chunk)
        assert total == info.file_size
        block = 256 << 10
        # sequential reads stream ahead with large GETs, not one request per block
        assert s3_proxy.count() < info.compress_size / block / 4
        end = info.header_offset + 30 + len(info.filename) + 20 + info.compress_size
        for start, stop in _ranges(s3_proxy, big_archive.size):
            assert start >= info.header_offset
            assert stop <= end + block
    client.close()


def test_hundred_thousand_entries_list_in_two_requests(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, many_archive: Uploaded
) -> None:
    client = _client(s3_server, s3_proxy)
    with fastzips3.open_archive(f"s3://test/{MANY_KEY}", s3_client=client) as archive:
        assert len(archive) == 100_000
        assert archive.namelist()[12345] == "entries/012/item-012345.txt"
        assert s3_proxy.count() <= 2
        assert archive.read("entries/099/item-099999.txt") == b"99999\n"
    client.close()
    with fastzips3.RemoteFile(f"s3://test/{MANY_KEY}", s3_client=_client(s3_server, s3_proxy)) as f:
        s3_proxy.reset()
        assert len(zipfile.ZipFile(f).namelist()) == 100_000
        assert s3_proxy.count() <= 1  # the tail was fetched at RemoteFile() before the reset


def test_env_configuration_and_endpoint_option(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = make_zip([("x.txt", b"from env", "deflate")])
    s3_server.client().put_object(Bucket="test", Key="plan/env.zip", Body=data)
    for key, value in s3_server.env(endpoint_url=s3_proxy.url).items():
        monkeypatch.setenv(key, value)
    # AWS_ENDPOINT_URL from the environment
    with fastzips3.open_archive("s3://test/plan/env.zip") as archive:
        assert archive.read("x.txt") == b"from env"
    assert s3_proxy.count() == 1
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    # explicit endpoint option, credentials still from the environment
    with fastzips3.open_archive("s3://test/plan/env.zip", endpoint_url=s3_proxy.url) as archive:
        assert archive.namelist() == ["x.txt"]
    assert s3_proxy.count() == 2


def test_anonymous_access_to_a_public_bucket(
    s3_server: LocalS3Server, s3_proxy: CountingProxy
) -> None:
    data = make_zip([("pub.txt", b"public", "stored")])
    s3_server.client().put_object(Bucket="public", Key="plan/pub.zip", Body=data)
    with fastzips3.open_archive(
        "s3://public/plan/pub.zip", endpoint_url=s3_proxy.url, anonymous=True
    ) as archive:
        assert archive.read("pub.txt") == b"public"
    with pytest.raises(errors.SourcePermissionError):
        fastzips3.open_archive("s3://test/plan/env.zip", endpoint_url=s3_proxy.url, anonymous=True)


def test_http_source_public_and_presigned(
    s3_server: LocalS3Server, s3_proxy: CountingProxy
) -> None:
    rng = random.Random(5)
    payload = text_bytes(rng, 3 << 20)
    data = make_zip(
        [("t.csv", payload, "deflate"), ("r.bin", random_bytes(rng, 2 << 20), "stored")]
    )
    s3_server.client().put_object(Bucket="public", Key="plan/http.zip", Body=data)
    url = s3_proxy.url + "/public/plan/http.zip"
    with fastzips3.open_archive(url, tail_size=64 << 10) as archive:
        assert s3_proxy.count() == 1
        assert archive.read("t.csv") == payload
        assert s3_proxy.count() == 2
    signer = _client(s3_server, s3_proxy)
    presigned = signer.generate_presigned_url(
        "get_object", Params={"Bucket": "public", "Key": "plan/http.zip"}
    )
    with fastzips3.open_archive(presigned) as archive:
        assert "Signature=***" in archive.url or "X-Amz-Signature=***" in archive.url
        assert archive.read("t.csv") == payload
    signer.close()


def test_object_replaced_mid_read_raises_source_changed(
    s3_server: LocalS3Server, s3_proxy: CountingProxy
) -> None:
    rng = random.Random(9)
    first = make_zip([("m.bin", random_bytes(rng, 3 << 20), "stored")])
    second = make_zip([("m.bin", random_bytes(rng, 3 << 20), "stored")])
    direct = s3_server.client()
    direct.put_object(Bucket="test", Key="plan/replace.zip", Body=first)
    client = _client(s3_server, s3_proxy)
    with fastzips3.open_archive(
        "s3://test/plan/replace.zip", s3_client=client, tail_size=4096
    ) as a:
        direct.put_object(Bucket="test", Key="plan/replace.zip", Body=second)
        with pytest.raises(errors.SourceChangedError):
            a.read("m.bin")
    assert any(r.status == 412 for r in s3_proxy.records)
    direct.close()
    client.close()


def test_version_id_is_pinned(s3_server: LocalS3Server, s3_proxy: CountingProxy) -> None:
    direct = s3_server.client()
    direct.create_bucket(Bucket="versioned")
    direct.put_bucket_versioning(Bucket="versioned", VersioningConfiguration={"Status": "Enabled"})
    v1 = direct.put_object(
        Bucket="versioned", Key="a.zip", Body=make_zip([("v", b"one", "stored")])
    )["VersionId"]
    direct.put_object(Bucket="versioned", Key="a.zip", Body=make_zip([("v", b"two", "stored")]))
    client = _client(s3_server, s3_proxy)
    with fastzips3.open_archive("s3://versioned/a.zip", s3_client=client, version_id=v1) as a:
        assert a.read("v") == b"one"
    with fastzips3.open_archive("s3://versioned/a.zip", s3_client=client) as a:
        assert a.read("v") == b"two"
    direct.close()
    client.close()


def test_missing_object_and_bucket(s3_server: LocalS3Server, s3_proxy: CountingProxy) -> None:
    client = _client(s3_server, s3_proxy)
    with pytest.raises(errors.SourceNotFoundError) as info:
        fastzips3.open_archive("s3://test/plan/nope.zip", s3_client=client)
    assert isinstance(info.value, FileNotFoundError)
    assert "s3://test/plan/nope.zip" in str(info.value)
    with pytest.raises(errors.SourceNotFoundError):
        fastzips3.open_archive("s3://no-such-bucket-zs/a.zip", s3_client=client)
    client.close()


def test_empty_and_non_zip_objects(s3_server: LocalS3Server, s3_proxy: CountingProxy) -> None:
    direct = s3_server.client()
    direct.put_object(Bucket="test", Key="plan/empty.zip", Body=b"")
    direct.put_object(Bucket="test", Key="plan/text.zip", Body=b"hello " * 1000)
    client = _client(s3_server, s3_proxy)
    with pytest.raises(errors.EOCDNotFoundError, match="empty"):
        fastzips3.open_archive("s3://test/plan/empty.zip", s3_client=client)
    with pytest.raises(errors.EOCDNotFoundError, match="not a ZIP"):
        fastzips3.open_archive("s3://test/plan/text.zip", s3_client=client)
    assert s3_proxy.count() == 2
    direct.close()
    client.close()


def test_local_and_file_url_sources(tmp_path: Path) -> None:
    data = make_zip([("l.txt", b"local", "deflate")])
    path = tmp_path / "l.zip"
    path.write_bytes(data)
    for target in (path, str(path), path.as_uri()):
        with fastzips3.open_archive(target) as archive:
            assert archive.read("l.txt") == b"local"
    with pytest.raises(errors.SourceNotFoundError):
        fastzips3.open_archive(tmp_path / "missing.zip")


def test_remotefile_streams_a_plain_object_with_read_ahead(
    s3_server: LocalS3Server, s3_proxy: CountingProxy
) -> None:
    payload = random_bytes(random.Random(12), 40 << 20)
    direct = s3_server.client()
    direct.put_object(Bucket="test", Key="plan/plain.bin", Body=payload)
    direct.close()
    client = _client(s3_server, s3_proxy)
    with fastzips3.RemoteFile("s3://test/plan/plain.bin", s3_client=client) as f:
        out = bytearray(f.read(100))
        while chunk := f.read(1 << 20):
            out += chunk
        assert bytes(out) == payload
    assert s3_proxy.count() <= 12  # the tail, a few blocks, then 8 MiB GETs
    assert s3_proxy.bytes_sent() <= len(payload) + (2 << 20)
    client.close()
