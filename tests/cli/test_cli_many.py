"""The CLI over many archives and many members, on SeaweedFS behind a counting proxy: ``ls`` of
an archive pattern (text, ``--json`` lines, ``--parquet``), one GET per archive; ``cat`` of
many small members in a few GETs."""

from __future__ import annotations

import io
import json
import random
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from fastzips3.cli import main

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import CountingProxy, LocalS3Server

PREFIX = "cli-many"


def _archive(seed: int, members: int) -> bytes:
    rng = random.Random(seed)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(members):
            text = "".join(rng.choice("abc \n") for _ in range(rng.randrange(10, 300)))
            zf.writestr(f"part-{i // 100}/rec-{i:04d}.txt", text, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


@pytest.fixture
def proxied(
    s3_server: LocalS3Server,
    s3_proxy: CountingProxy,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> CountingProxy:
    """The CLI's S3 requests go through the counting proxy, with an empty directory cache."""
    for key, value in s3_server.env(endpoint_url=s3_proxy.url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FASTZIPS3_CACHE_DIR", str(tmp_path / "cache"))
    return s3_proxy


@pytest.fixture
def uploaded(s3_client: S3Client) -> dict[str, bytes]:
    archives = {f"{PREFIX}/a/{n:02d}.zip": _archive(n, 20 + n) for n in range(12)}
    archives[f"{PREFIX}/a/notes.txt"] = b"not an archive, not matched"
    for key, body in archives.items():
        s3_client.put_object(Bucket="test", Key=key, Body=body)
    return {k: v for k, v in archives.items() if k.endswith(".zip")}


def test_ls_of_a_pattern_lists_every_archive_one_get_each(
    proxied: CountingProxy, uploaded: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ls", f"s3://test/{PREFIX}/a/*.zip"]) == 0
    out = capsys.readouterr().out
    for key in uploaded:
        assert f"Archive:  s3://test/{key}" in out
    total = sum(len(zipfile.ZipFile(io.BytesIO(b)).infolist()) for b in uploaded.values())
    assert f"{total:,} members in {len(uploaded)} archives" in out
    assert proxied.count("GET") == len(uploaded) + 1  # the listing of keys, then one each


def test_ls_json_lines_and_parquet(
    proxied: CountingProxy,
    uploaded: dict[str, bytes],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    assert main(["ls", f"s3://test/{PREFIX}/a/0*.zip", "--json", "part-0/*"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = {
        (f"s3://test/{key}", info.filename, info.CRC)
        for key, body in uploaded.items()
        if key.split("/")[-1].startswith("0")
        for info in zipfile.ZipFile(io.BytesIO(body)).infolist()
        if info.filename.startswith("part-0/")
    }
    assert {(r["archive"], r["name"], int(r["crc"], 16)) for r in rows} == expected
    pytest.importorskip("pyarrow")
    pandas = pytest.importorskip("pandas")
    out = tmp_path / "members.parquet"
    assert main(["ls", f"s3://test/{PREFIX}/a/*.zip", "--parquet", str(out)]) == 0
    frame = pandas.read_parquet(out)
    assert len(frame) == sum(
        len(zipfile.ZipFile(io.BytesIO(b)).infolist()) for b in uploaded.values()
    )
    assert "written to" in capsys.readouterr().out


def test_cat_of_many_small_members_costs_a_few_gets(
    proxied: CountingProxy, s3_client: S3Client, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    body = _archive(99, 2000)
    s3_client.put_object(Bucket="test", Key=f"{PREFIX}/cat.zip", Body=body)
    before = proxied.count("GET")
    assert main(["cat", f"s3://test/{PREFIX}/cat.zip", "part-1*/*"]) == 0
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        names = [n for n in zf.namelist() if n.startswith("part-1")]
        assert capsysbinary.readouterr().out == b"".join(zf.read(n) for n in names)
    assert len(names) >= 1000
    assert proxied.count("GET") - before <= 3  # the listing and one span
