"""fastzips3.ZipFile over S3 (SeaweedFS): the listing is one GET, reads match zipfile's."""

from __future__ import annotations

import io
import random
import zipfile
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
