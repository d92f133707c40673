"""ZipWriter on SeaweedFS: archives streamed into multipart uploads, S3 objects placed stored by
server-side copies, and interrupted writes that leave nothing behind."""

from __future__ import annotations

import os
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import fastzips3
from fastzips3 import ZipWriter, errors
from fastzips3.testing.faults import Fault, FaultProxy
from tests.helpers.zipcheck import check_archive
from tests.integration.test_write_sink_s3 import FAST, MiB, exists, open_uploads, options

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import LocalS3Server

TEXT = b"".join(b"row %08d, some words of a csv-ish text to deflate\n" % i for i in range(400_000))


def get(client: S3Client, key: str) -> bytes:
    """The whole object."""
    return client.get_object(Bucket="test", Key=key)["Body"].read()


def test_write_read_back_by_every_tool(
    s3_server: LocalS3Server, s3_client: S3Client, tmp_path: Path
) -> None:
    stored_src = os.urandom(12 * MiB + 7)
    s3_client.put_object(Bucket="test", Key="w/src/stored.bin", Body=stored_src)
    s3_client.put_object(Bucket="test", Key="w/src/text.csv", Body=TEXT[: 3 * MiB])
    local = tmp_path / "big.txt"
    local.write_bytes(TEXT)
    url = "s3://test/w/out.zip"
    with ZipWriter(
        url, piece_size=1 * MiB, part_size=5 * MiB, workers=2, **options(s3_server)
    ) as z:
        z.writestr("hello.txt", "hello")
        z.write(local, "big.txt")
        z.write("s3://test/w/src/stored.bin", "copied/stored.bin", compress_type="stored")
        z.write("s3://test/w/src/text.csv", "text.csv")
        z.mkdir("dir")
        with z.open("stream.txt") as f:
            f.write(TEXT[: 2 * MiB])
        z.writestr("naïve.txt", b"utf-8 name")
    result = z.result
    assert result is not None and result.copies >= 1
    # the copied object's bytes did not travel: far less than all that was written
    assert result.sent < result.size - 6 * MiB
    expected = {
        "hello.txt": b"hello",
        "big.txt": TEXT,
        "copied/stored.bin": stored_src,
        "text.csv": TEXT[: 3 * MiB],
        "dir/": b"",
        "stream.txt": TEXT[: 2 * MiB],
        "naïve.txt": b"utf-8 name",
    }
    check_archive(get(s3_client, "w/out.zip"), expected)
    with fastzips3.open_archive(url, directory_cache=False, **options(s3_server)) as archive:
        assert archive.getinfo("copied/stored.bin").crc == zlib.crc32(stored_src)
        assert archive.read("big.txt") == TEXT
    assert open_uploads(s3_client, "w/") == []


def test_small_archive_is_one_put(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    with ZipWriter("s3://test/w/small.zip", **options(s3_server)) as z:
        z.writestr("a.txt", b"a" * 1000)
    assert z.result is not None and z.result.parts == 1
    check_archive(get(s3_client, "w/small.zip"), {"a.txt": b"a" * 1000})


def test_no_overwrite(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    s3_client.put_object(Bucket="test", Key="w/exists.zip", Body=b"old")
    z = ZipWriter("s3://test/w/exists.zip", overwrite=False, **options(s3_server))
    z.writestr("a.txt", b"a")
    with pytest.raises(errors.DestinationExistsError):
        z.close()
    assert get(s3_client, "w/exists.zip") == b"old"


def _write_big(url: str, opts: dict[str, Any], data: bytes) -> None:
    with ZipWriter(url, part_size=5 * MiB, workers=2, retries=FAST, **opts) as z:
        z.writestr("big.bin", data, compress_type="stored")


@pytest.mark.parametrize("nth", [0, 2])
def test_interrupted_write_leaves_nothing(
    s3_server: LocalS3Server, s3_client: S3Client, nth: int
) -> None:
    s3_client.put_object(Bucket="test", Key=f"w/keep{nth}.zip", Body=b"original")
    faults = [Fault("reset", nth=i, after_bytes=-1, method="PUT") for i in range(nth, nth + 20)]
    with FaultProxy(s3_server.endpoint_url, faults) as proxy:
        with pytest.raises(errors.SourceError):
            _write_big(f"s3://test/w/keep{nth}.zip", options(s3_server, proxy.url), TEXT * 2)
    assert get(s3_client, f"w/keep{nth}.zip") == b"original"
    assert open_uploads(s3_client, "w/") == []


def test_exception_in_block_leaves_nothing(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    def body() -> None:
        with ZipWriter("s3://test/w/raised.zip", part_size=5 * MiB, **options(s3_server)) as z:
            z.writestr("big.bin", os.urandom(12 * MiB), compress_type="stored")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        body()
    assert not exists(s3_client, "w/raised.zip")
    assert open_uploads(s3_client, "w/") == []


def test_cli_zip_append_extract(
    s3_server: LocalS3Server,
    s3_client: S3Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from fastzips3.cli import main

    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_bytes(b"a" * 5000)
    (tmp_path / "d" / "sub" / "b.txt").write_bytes(TEXT[:50_000])
    (tmp_path / "c.txt").write_bytes(b"c")
    s3_client.put_object(Bucket="test", Key="cli/obj.bin", Body=b"from s3")
    assert main(["zip", "s3://test/cli/out.zip", "-r", "-9", "d", "s3://test/cli/obj.bin"]) == 0
    expected = {
        "d/": b"",
        "d/sub/": b"",
        "d/a.txt": b"a" * 5000,
        "d/sub/b.txt": TEXT[:50_000],
        "cli/obj.bin": b"from s3",
    }
    check_archive(get(s3_client, "cli/out.zip"), expected)
    before = get(s3_client, "cli/out.zip")
    assert main(["append", "s3://test/cli/out.zip", "c.txt", "--to", "s3://test/cli/out2.zip"]) == 0
    assert get(s3_client, "cli/out.zip") == before
    check_archive(get(s3_client, "cli/out2.zip"), expected | {"c.txt": b"c"})
    assert main(["append", "s3://test/cli/out.zip", "-0", "c.txt"]) == 0
    check_archive(get(s3_client, "cli/out.zip"), expected | {"c.txt": b"c"})
    assert main(["extract", "s3://test/cli/out.zip", "-d", "s3://test/cli/x/", "d/*"]) == 0
    assert get(s3_client, "cli/x/d/sub/b.txt") == TEXT[:50_000]
    assert main(["extract", "s3://test/cli/out.zip", "-d", "s3://test/cli/x/", "d/*"]) != 0
    assert main(["extract", "s3://test/cli/out.zip", "-n", "-d", "s3://test/cli/x/", "d/*"]) == 0
    out = capsys.readouterr().out
    assert "server-side" in out
