"""The error contract on S3 (SeaweedFS): the failures of ``tests/unit/test_error_contract.py``
with archives that are objects, plus a server that goes away after the listing.

Each error must be a :class:`fastzips3.errors.FastZipS3Error` and the builtin users catch:
:class:`KeyError` or :class:`FileNotFoundError` for a missing member, :class:`FileNotFoundError`
for a missing object or bucket, :class:`zipfile.BadZipFile` for a non-archive or a cut one,
:class:`RuntimeError` for a wrong password, :class:`OSError` for an unreachable endpoint.
"""

from __future__ import annotations

import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import fastzips3
from fastzips3 import errors
from tests.helpers.rawzip import RawMember, build_zip
from tests.unit.test_error_contract import TEXT, refused_port
from tests.unit.test_extract import ENCRYPTED_TREE, encrypted_zip

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import LocalS3Server

BAD = zipfile.BadZipFile
NOPE = "nope.txt"


@dataclass(frozen=True)
class S3Env:
    """Keys in the ``test`` bucket and the options that reach them."""

    good: str
    encrypted: str
    not_zip: str
    truncated: str
    missing: str
    no_bucket: str
    options: dict[str, Any]


@pytest.fixture(scope="module")
def s3env(s3_server: LocalS3Server) -> Iterator[S3Env]:
    client = s3_server.client()
    prefix = f"contract/{uuid.uuid4().hex[:8]}"
    good = build_zip([RawMember("a.txt", TEXT, 8), RawMember("dir/b.txt", b"bbb")])
    objects = {
        "good.zip": good,
        "enc.zip": encrypted_zip(ENCRYPTED_TREE),
        "not.zip": b"this is not a zip archive\n" * 100,
        "trunc.zip": good[: len(good) - 40],
    }
    for name, data in objects.items():
        client.put_object(Bucket="test", Key=f"{prefix}/{name}", Body=data)
    url = f"s3://test/{prefix}"
    try:
        yield S3Env(
            good=f"{url}/good.zip",
            encrypted=f"{url}/enc.zip",
            not_zip=f"{url}/not.zip",
            truncated=f"{url}/trunc.zip",
            missing=f"{url}/missing.zip",
            no_bucket=f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/a.zip",
            options={"s3_client": client, "directory_cache": False},
        )
    finally:
        fastzips3.clear_archive_cache()
        client.close()


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    yield
    fastzips3.clear_archive_cache()


def _fs(target: str, client: S3Client) -> Any:
    from fastzips3.fsspec import FastZipS3FileSystem

    fs = FastZipS3FileSystem(fo=target, skip_instance_cache=True, s3_client=client)
    return fs


Call = Callable[[S3Env], object]


def _archive(
    pick: Callable[[S3Env], str], action: Callable[[fastzips3.ZipArchive], object]
) -> Call:
    def run(e: S3Env) -> object:
        with fastzips3.open_archive(pick(e), **e.options) as archive:
            return action(archive)

    return run


ROWS: list[tuple[str, Call, type[BaseException]]] = [
    ("open_archive-missing_object", lambda e: fastzips3.open_archive(e.missing, **e.options),
     FileNotFoundError),
    ("open_archive-missing_bucket", lambda e: fastzips3.open_archive(e.no_bucket, **e.options),
     FileNotFoundError),
    ("open_archive-not_an_archive", lambda e: fastzips3.open_archive(e.not_zip, **e.options),
     BAD),
    ("open_archive-truncated", lambda e: fastzips3.open_archive(e.truncated, **e.options), BAD),
    ("ZipArchive.read-missing_member", _archive(lambda e: e.good, lambda a: a.read(NOPE)),
     KeyError),
    ("ZipArchive.read-wrong_password",
     _archive(lambda e: e.encrypted,
              lambda a: a.read("src/docs/sub/secret.txt", password="wrong")), RuntimeError),
    ("ZipFile-missing_object", lambda e: fastzips3.ZipFile(e.missing, **e.options),
     FileNotFoundError),
    ("ZipFile-not_an_archive", lambda e: fastzips3.ZipFile(e.not_zip, **e.options), BAD),
    ("ZipFile-truncated", lambda e: fastzips3.ZipFile(e.truncated, **e.options), BAD),
    ("RemoteFile-missing_object", lambda e: fastzips3.RemoteFile(e.missing, **e.options),
     FileNotFoundError),
    ("open-missing_member", lambda e: fastzips3.open(f"{e.good}/{NOPE}", **e.options),
     FileNotFoundError),
    ("open-missing_object", lambda e: fastzips3.open(f"{e.missing}/a.txt", **e.options),
     FileNotFoundError),
    ("open(object)-missing_object", lambda e: fastzips3.open(e.missing, **e.options),
     FileNotFoundError),
    ("open-not_an_archive", lambda e: fastzips3.open(f"{e.not_zip}/a.txt", **e.options), BAD),
    ("listdir-missing_member", lambda e: fastzips3.listdir(f"{e.good}/nope/", **e.options),
     FileNotFoundError),
    ("listdir-missing_object", lambda e: fastzips3.listdir(e.missing, **e.options),
     FileNotFoundError),
    ("listdir-truncated", lambda e: fastzips3.listdir(e.truncated, **e.options), BAD),
    ("stat-missing_member", lambda e: fastzips3.stat(f"{e.good}/{NOPE}", **e.options),
     FileNotFoundError),
    ("stat(object)-missing_object", lambda e: fastzips3.stat(e.missing, **e.options),
     FileNotFoundError),
    ("member_splits-missing_member",
     lambda e: fastzips3.member_splits(e.good, NOPE, 2, **e.options), KeyError),
    ("member_splits-missing_object",
     lambda e: fastzips3.member_splits(e.missing, "a.txt", 2, **e.options), FileNotFoundError),
    ("fsspec-missing_object", lambda e: _fs(e.missing, e.options["s3_client"]),
     FileNotFoundError),
    ("fsspec-missing_member",
     lambda e: _fs(e.good, e.options["s3_client"]).cat_file(NOPE), FileNotFoundError),
]  # fmt: skip


@pytest.mark.parametrize(("label", "call", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_s3_failure_is_a_fastzips3_error_and_the_builtin(
    s3env: S3Env, label: str, call: Call, expected: type[BaseException]
) -> None:
    with pytest.raises(expected) as caught:
        call(s3env)
    assert isinstance(caught.value, errors.FastZipS3Error), (
        f"{label}: {type(caught.value).__module__}.{type(caught.value).__name__}"
    )
    assert str(caught.value).strip()


def test_unreachable_endpoint(s3_server: LocalS3Server) -> None:
    """A refused port as the S3 endpoint: an OSError of the tree, quickly, from every entry."""
    client = s3_server.client(
        endpoint_url=f"http://127.0.0.1:{refused_port()}",
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    options: dict[str, Any] = {
        "s3_client": client,
        "directory_cache": False,
        "retries": fastzips3.RetryPolicy(attempts=1),
    }
    calls: list[Callable[[], object]] = [
        lambda: fastzips3.open_archive("s3://test/a.zip", **options),
        lambda: fastzips3.ZipFile("s3://test/a.zip", **options),
        lambda: fastzips3.RemoteFile("s3://test/a.zip", **options),
        lambda: fastzips3.open("s3://test/a.zip/x.txt", **options),
        lambda: fastzips3.listdir("s3://test/a.zip", **options),
        lambda: fastzips3.stat("s3://test/a.zip/x.txt", **options),
        lambda: fastzips3.member_splits("s3://test/a.zip", "x.txt", 2, **options),
    ]
    try:
        for call in calls:
            started = time.monotonic()
            with pytest.raises(errors.SourceError) as caught:  # FastZipS3Error and OSError
                call()
            assert isinstance(caught.value, OSError)
            assert time.monotonic() - started < 10
    finally:
        client.close()


def test_server_gone_after_listing_fails_extraction_cleanly(
    s3_server: LocalS3Server, s3env: S3Env, tmp_path: Path
) -> None:
    """The archive was listed, then its server went away: reads and extraction raise an
    OSError of the tree, and the failed extraction leaves nothing behind."""
    from fastzips3.testing import CountingProxy

    proxy = CountingProxy(s3_server.endpoint_url)
    proxy.start()
    client = s3_server.client(
        endpoint_url=proxy.url, retries={"mode": "standard", "total_max_attempts": 1}
    )
    dest = tmp_path / "new" / "out"
    try:
        archive = fastzips3.open_archive(
            s3env.good,
            s3_client=client,
            directory_cache=False,
            retries=fastzips3.RetryPolicy(attempts=1),
            tail_size=1024,  # the listing holds the directory, not the member data
        )
        proxy.stop()
        with archive:
            with pytest.raises(errors.SourceError) as read_error:  # FastZipS3Error and OSError
                archive.read("a.txt")
            assert isinstance(read_error.value, OSError)
            with pytest.raises(errors.SourceError) as extract_error:
                fastzips3.extract_members(archive, dest)
            assert isinstance(extract_error.value, OSError)
    finally:
        proxy.stop()
        client.close()
    assert list(tmp_path.iterdir()) == []
