"""fastzips3.ZipFile over S3 (SeaweedFS): the listing is one GET, reads match zipfile's."""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import fastzips3
from tests.helpers.zips import make_zip, seeded_members

if TYPE_CHECKING:
    from fastzips3.testing import CountingProxy, LocalS3Server

KEY = "zipfile-compat/seeded.zip"
RAW_FIELDS = ("create_version", "extract_version", "reserved", "volume", "internal_attr")


def test_zipfile_over_s3_lists_in_one_get_and_reads_like_zipfile(
    s3_server: LocalS3Server, s3_proxy: CountingProxy
) -> None:
    data = make_zip(seeded_members(31, 300, 30_000), comment=b"over s3")
    s3_server.client().put_object(Bucket="test", Key=KEY, Body=data)
    ref = zipfile.ZipFile(io.BytesIO(data))
    client = s3_server.client(endpoint_url=s3_proxy.url)
    try:
        with fastzips3.ZipFile(f"s3://test/{KEY}", s3_client=client, directory_cache=False) as zf:
            infos = zf.infolist()
            assert zf.namelist() == ref.namelist()
            assert zf.comment == b"over s3"
            for ours, theirs in zip(infos, ref.infolist(), strict=True):
                for field in zipfile.ZipInfo.__slots__:
                    assert getattr(ours, field) == getattr(theirs, field), field
            # The listing, raw fields included, cost one GET: the suffix range.
            assert s3_proxy.count("GET") == 1
            assert zf.stats.requests == 1
            assert s3_proxy.records[0].range_header is not None
            assert s3_proxy.records[0].range_header.startswith("bytes=-")

            rng = random.Random(5)
            picked = rng.sample(ref.namelist(), 12)
            for name in picked:
                assert zf.read(name) == ref.read(name)
                with zf.open(name) as f:
                    f.seek(ref.getinfo(name).file_size // 2)
                    assert f.read(100) == ref.read(name)[ref.getinfo(name).file_size // 2 :][:100]
            assert zf.stats.requests == s3_proxy.count("GET")
            assert zf.testzip() is None
            assert zf.filename == f"s3://test/{KEY}"
    finally:
        client.close()


def test_zipfile_extractall_over_remotefile_reads_ahead_across_members(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, tmp_path: Path
) -> None:
    """zipfile walking 20,000 small members in order: RemoteFile reads ahead across member
    boundaries (a run that crossed into the next member goes on to the central directory),
    so the walk costs a few GETs, not one per cache block or member; data descriptors (bytes
    zipfile skips) do not break the run."""
    rng = random.Random(8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(20_000):
            data = bytes(rng.choice(b"abcdefgh \n") for _ in range(rng.randrange(50, 700)))
            zf.writestr(f"d{i // 1000:02d}/f{i:05d}.txt", data, zipfile.ZIP_DEFLATED)
    plain = buf.getvalue()
    streamed = io.BytesIO()  # the same members behind data descriptors (an unseekable writer)
    with zipfile.ZipFile(_Unseekable(streamed), "w") as zf:
        with zipfile.ZipFile(io.BytesIO(plain)) as src:
            for info in src.infolist()[:5000]:
                with zf.open(info.filename, "w") as member:
                    member.write(src.read(info))
    client = s3_server.client(endpoint_url=s3_proxy.url)
    try:
        for key, data in (("walk/plain.zip", plain), ("walk/descriptors.zip", streamed.getvalue())):
            s3_server.client().put_object(Bucket="test", Key=key, Body=data)
            before = s3_proxy.count("GET")
            out = tmp_path / key
            with zipfile.ZipFile(
                fastzips3.RemoteFile(f"s3://test/{key}", s3_client=client, directory_cache=False)
            ) as zf:
                zf.extractall(out)
            spent = s3_proxy.count("GET") - before
            assert spent <= 10, (key, spent, len(data))  # one per 256 KiB block: 10-24
            with zipfile.ZipFile(io.BytesIO(data)) as ref:
                for info in ref.infolist()[::97]:
                    assert (out / info.filename).read_bytes() == ref.read(info)
    finally:
        client.close()


class _Unseekable(io.RawIOBase):
    """A write-only stream zipfile cannot seek back in: it writes data descriptors."""

    def __init__(self, sink: io.BytesIO) -> None:
        super().__init__()
        self._sink = sink

    def writable(self) -> bool:
        return True

    def write(self, b: object) -> int:
        return self._sink.write(b)  # type: ignore[arg-type]

    def flush(self) -> None:
        pass
