"""Archives shared by the integration tests, uploaded once per session."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

import pytest

from fastzips3.testing.bigzip import MemberSpec, write_zip

if TYPE_CHECKING:
    from fastzips3.testing import LocalS3Server

BIG_KEY = "plan/big64.zip"
MANY_KEY = "plan/many.zip"
BIG_MEMBERS = [
    MemberSpec("a/first.bin", 1100 << 20),
    MemberSpec("b/table.csv", 64 << 20, "csv", zipfile.ZIP_DEFLATED),
    MemberSpec("b/mid.csv", 12 << 20, "csv", zipfile.ZIP_DEFLATED),
    MemberSpec("c/second.bin", 1000 << 20),
    MemberSpec("d/small.csv", 300 << 10, "csv", zipfile.ZIP_DEFLATED),
    MemberSpec("e/tiny.txt", 1000, "csv", zipfile.ZIP_STORED),
]


class Uploaded:
    """An archive in the test bucket, with zipfile's view of it."""

    def __init__(self, key: str, infos: list[zipfile.ZipInfo], size: int) -> None:
        self.key = key
        self.infos = {i.filename: i for i in infos}
        self.size = size
        self.offsets = sorted(i.header_offset for i in infos)

    def member_end(self, name: str, cd_start: int) -> int:
        """The next header offset after ``name``'s, or the central directory start."""
        start = self.infos[name].header_offset
        later = [o for o in self.offsets if o > start]
        return later[0] if later else cd_start


@pytest.fixture(scope="session")
def big_archive(s3_server: LocalS3Server, tmp_path_factory: pytest.TempPathFactory) -> Uploaded:
    """A 2.2 GB ZIP64 archive (offsets past 2^31) with five members, in the test bucket."""
    path = tmp_path_factory.mktemp("big") / "big64.zip"
    write_zip(path, BIG_MEMBERS, seed=64)
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
    client = s3_server.client()
    try:
        client.upload_file(str(path), "test", BIG_KEY)
    finally:
        client.close()
    size = path.stat().st_size
    path.unlink()
    return Uploaded(BIG_KEY, infos, size)


@pytest.fixture(scope="session")
def many_archive(s3_server: LocalS3Server) -> Uploaded:
    """A 100,000-entry archive (a 7 MB central directory) in the test bucket."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(100_000):
            zf.writestr(f"entries/{i // 1000:03d}/item-{i:06d}.txt", b"%d\n" % i)
    client = s3_server.client()
    try:
        client.put_object(Bucket="test", Key=MANY_KEY, Body=buf.getvalue())
    finally:
        client.close()
    with zipfile.ZipFile(buf) as zf:
        return Uploaded(MANY_KEY, zf.infolist(), len(buf.getvalue()))
