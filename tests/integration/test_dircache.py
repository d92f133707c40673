"""The on-disk central-directory cache against SeaweedFS, counted at the proxy."""

from __future__ import annotations

import random
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import fastzips3
from fastzips3 import errors
from fastzips3._engine.diskcache import wait_for_writes
from tests.helpers.zips import make_zip, random_bytes
from tests.integration.conftest import MANY_KEY, Uploaded

if TYPE_CHECKING:
    from fastzips3.testing import CountingProxy, LocalS3Server


def _archive(seed: int) -> bytes:
    rng = random.Random(seed)
    return make_zip([(f"m{i}.bin", random_bytes(rng, 600_000), "stored") for i in range(4)])


@pytest.fixture
def key(s3_server: LocalS3Server, request: pytest.FixtureRequest) -> str:
    name = f"cache/{request.node.name}.zip"
    client = s3_server.client()
    client.put_object(Bucket="test", Key=name, Body=_archive(1))
    client.close()
    return name


def _open(
    server: LocalS3Server, proxy: CountingProxy, key: str, cache: Path, **kw: object
) -> fastzips3.ZipArchive:
    return fastzips3.open_archive(
        f"s3://test/{key}",
        endpoint_url=proxy.url,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region=server.region,
        directory_cache=str(cache),
        tail_size=64 << 10,
        **kw,  # type: ignore[arg-type]
    )


def test_reopen_costs_one_conditional_request(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, key: str, tmp_path: Path
) -> None:
    with _open(s3_server, s3_proxy, key, tmp_path) as first:
        names = first.namelist()
    s3_proxy.reset()
    with _open(s3_server, s3_proxy, key, tmp_path) as second:
        assert second.namelist() == names
        assert s3_proxy.count() == 1
        assert s3_proxy.records[0].status == 304
        assert s3_proxy.bytes_sent() < 1024
        assert second.read("m2.bin") == first_bytes(2)


def first_bytes(index: int) -> bytes:
    rng = random.Random(1)
    members = [random_bytes(rng, 600_000) for _ in range(4)]
    return members[index]


def test_within_ttl_no_request_at_all(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, key: str, tmp_path: Path
) -> None:
    _open(s3_server, s3_proxy, key, tmp_path).close()
    s3_proxy.reset()
    with _open(s3_server, s3_proxy, key, tmp_path, cache_ttl=600) as archive:
        assert len(archive) == 4
        assert s3_proxy.count() == 0
        assert archive.read("m0.bin") == first_bytes(0)
        assert s3_proxy.count() == 1


def test_changed_object_is_listed_again(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, key: str, tmp_path: Path
) -> None:
    _open(s3_server, s3_proxy, key, tmp_path).close()
    replacement = make_zip([("new.txt", b"new content", "deflate")])
    client = s3_server.client()
    client.put_object(Bucket="test", Key=key, Body=replacement)
    client.close()
    s3_proxy.reset()
    with _open(s3_server, s3_proxy, key, tmp_path) as archive:
        assert archive.namelist() == ["new.txt"]
        assert archive.read("new.txt") == b"new content"
        assert s3_proxy.count() == 1  # the conditional GET answered 206 with the new tail


def test_stale_entry_within_ttl_never_yields_wrong_bytes(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, key: str, tmp_path: Path
) -> None:
    _open(s3_server, s3_proxy, key, tmp_path).close()
    client = s3_server.client()
    client.put_object(Bucket="test", Key=key, Body=_archive(2))
    client.close()
    with _open(s3_server, s3_proxy, key, tmp_path, cache_ttl=600) as archive:
        with pytest.raises(errors.SourceChangedError):
            archive.read("m1.bin")
    # the entry was dropped: the next open lists the new version
    with _open(s3_server, s3_proxy, key, tmp_path, cache_ttl=600) as archive:
        rng = random.Random(2)
        expected = [random_bytes(rng, 600_000) for _ in range(4)]
        assert archive.read("m1.bin") == expected[1]


def test_corrupt_entry_is_detected_and_rebuilt(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, key: str, tmp_path: Path
) -> None:
    _open(s3_server, s3_proxy, key, tmp_path).close()
    wait_for_writes()  # the listing is written to the cache in the background
    (entry,) = list((tmp_path).glob("*.zsdc"))
    raw = bytearray(entry.read_bytes())
    raw[-5] ^= 0xFF
    entry.write_bytes(bytes(raw))
    s3_proxy.reset()
    with _open(s3_server, s3_proxy, key, tmp_path) as archive:
        assert archive.read("m3.bin") == first_bytes(3)
        assert s3_proxy.records[0].status == 206  # a full listing, not a 304
    s3_proxy.reset()
    _open(s3_server, s3_proxy, key, tmp_path).close()
    assert s3_proxy.records[0].status == 304  # rebuilt


def test_large_directory_is_cached_too(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, many_archive: Uploaded, tmp_path: Path
) -> None:
    with _open(s3_server, s3_proxy, MANY_KEY, tmp_path) as archive:
        assert len(archive) == 100_000
    s3_proxy.reset()
    with _open(s3_server, s3_proxy, MANY_KEY, tmp_path) as archive:
        assert len(archive) == 100_000
        assert s3_proxy.count() == 1


def test_fastzips3_open_recovers_from_a_stale_listing(
    s3_server: LocalS3Server,
    s3_proxy: CountingProxy,
    key: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in s3_server.env(endpoint_url=s3_proxy.url).items():
        monkeypatch.setenv(name, value)
    url = f"s3://test/{key}/m0.bin"
    fastzips3.clear_archive_cache()
    with fastzips3.open(url, directory_cache=str(tmp_path)) as f:
        assert f.read() == first_bytes(0)
    client = s3_server.client()
    client.put_object(Bucket="test", Key=key, Body=_archive(3))
    client.close()
    with fastzips3.open(url, directory_cache=str(tmp_path)) as f:
        rng = random.Random(3)
        assert f.read() == random_bytes(rng, 600_000)
    fastzips3.clear_archive_cache()
