"""Appending on SeaweedFS: the old bytes copied server-side, the completion guarded by the old
ETag, ``to=`` leaving the source untouched, and interrupted or raced appends losing nothing."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

import fastzips3
from fastzips3 import ZipWriter, errors
from fastzips3.testing.faults import Fault, FaultProxy
from tests.helpers.zipcheck import check_archive
from tests.integration.test_write_s3 import TEXT, get
from tests.integration.test_write_sink_s3 import FAST, MiB, open_uploads, options

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import LocalS3Server

BIG = os.urandom(14 * MiB)


def make(server: LocalS3Server, key: str) -> dict[str, bytes]:
    """An archive of a 14 MiB stored member and a text member at ``key``; its contents."""
    with ZipWriter(f"s3://test/{key}", part_size=5 * MiB, **options(server)) as z:
        z.writestr("big.bin", BIG, compress_type="stored")
        z.writestr("text.txt", TEXT[:100_000])
    return {"big.bin": BIG, "text.txt": TEXT[:100_000]}


def test_append_copies_old_bytes_server_side(
    s3_server: LocalS3Server, s3_client: S3Client, s3_proxy: object
) -> None:
    key = "ap/a.zip"
    contents = make(s3_server, key)
    old_size = len(get(s3_client, key))
    new = os.urandom(3 * MiB)
    result = fastzips3.append(
        f"s3://test/{key}", {"new.bin": new, "new.txt": b"more"}, **options(s3_server)
    )
    contents |= {"new.bin": new, "new.txt": b"more"}
    check_archive(get(s3_client, key), contents)
    assert result.copies >= 1
    # sent: the new members, the directory and what completes the first part to 5 MiB
    assert result.sent <= len(new) + 5 * MiB + 10_000
    assert result.size > old_size
    with ZipWriter(f"s3://test/{key}", "a", **options(s3_server)) as z:
        z.writestr("third.txt", b"3")
    contents["third.txt"] = b"3"
    check_archive(get(s3_client, key), contents)
    assert open_uploads(s3_client, "ap/") == []


def test_append_to_another_key(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    contents = make(s3_server, "ap/src.zip")
    before = get(s3_client, "ap/src.zip")
    fastzips3.append(
        "s3://test/ap/src.zip", {"x.txt": b"x"}, to="s3://test/ap/dst.zip", **options(s3_server)
    )
    assert get(s3_client, "ap/src.zip") == before
    check_archive(get(s3_client, "ap/dst.zip"), contents | {"x.txt": b"x"})


def test_replaced_during_append_raises(s3_server: LocalS3Server, s3_client: S3Client) -> None:
    key = "ap/raced.zip"
    make(s3_server, key)
    other = b"another writer's version"

    def replace() -> None:
        s3_client.put_object(Bucket="test", Key=key, Body=other)

    # POST #0 creates the upload, POST #1 completes it: the archive changes just before
    faults = [Fault("replace", nth=1, method="POST", replace_with=replace)]
    with FaultProxy(s3_server.endpoint_url, faults) as proxy:
        with pytest.raises(errors.DestinationChangedError) as caught:
            fastzips3.append(
                f"s3://test/{key}",
                {"new.txt": b"new"},
                retries=FAST,
                **options(s3_server, proxy.url),
            )
        assert proxy.fault_log
    assert isinstance(caught.value, errors.SourceChangedError)
    assert get(s3_client, key) == other  # the other writer's version, not lost, not mixed
    assert open_uploads(s3_client, "ap/") == []


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_interrupted_append_leaves_original(
    s3_server: LocalS3Server, s3_client: S3Client, method: str
) -> None:
    key = f"ap/cut-{method}.zip"
    make(s3_server, key)
    before = get(s3_client, key)
    nth = 1 if method == "POST" else 0
    faults = [Fault("status", nth=i, status=500, method=method) for i in range(nth, nth + 20)]
    with FaultProxy(s3_server.endpoint_url, faults) as proxy:
        with pytest.raises(errors.SourceError):
            fastzips3.append(
                f"s3://test/{key}",
                {"new.bin": os.urandom(6 * MiB)},
                retries=FAST,
                **options(s3_server, proxy.url),
            )
    assert get(s3_client, key) == before
    assert open_uploads(s3_client, "ap/") == []
