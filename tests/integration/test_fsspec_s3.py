"""The fastzips3:// fsspec filesystem against SeaweedFS: pandas, Dask, and the fsspec API."""

from __future__ import annotations

import io
import random
import zipfile
from typing import TYPE_CHECKING, Any

import fsspec
import pytest

from tests.helpers.zips import make_zip, random_bytes

if TYPE_CHECKING:
    from fastzips3.testing import CountingProxy, LocalS3Server

KEY = "fsspec/data.zip"


def _csv(rows: int) -> bytes:
    lines = ["id,name,value"] + [f"{i},name{i % 7},{i * 0.5}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def uploaded(s3_server: LocalS3Server) -> bytes:
    rng = random.Random(4)
    data = make_zip(
        [
            ("tables/small.csv", _csv(1000), "deflate"),
            ("tables/big.csv", _csv(200_000), "deflate"),
            ("blobs/r.bin", random_bytes(rng, 3 << 20), "stored"),
            ("README", b"read me", "stored"),
        ]
    )
    client = s3_server.client()
    client.put_object(Bucket="test", Key=KEY, Body=data)
    client.close()
    return data


def _s3_options(server: LocalS3Server, proxy: CountingProxy) -> dict[str, Any]:
    return {
        "key": server.access_key,
        "secret": server.secret_key,
        "client_kwargs": {"endpoint_url": proxy.url, "region_name": server.region},
    }


def test_pandas_reads_a_member_through_the_chained_url(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: bytes
) -> None:
    import pandas as pd

    frame = pd.read_csv(
        f"fastzips3://tables/small.csv::s3://test/{KEY}",
        storage_options={"s3": _s3_options(s3_server, s3_proxy)},
    )
    assert list(frame.columns) == ["id", "name", "value"]
    assert len(frame) == 1000
    assert frame["value"].sum() == sum(i * 0.5 for i in range(1000))
    assert s3_proxy.count() <= 2  # the listing GET (the member lies inside the tail)


def test_dask_reads_a_member(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: bytes
) -> None:
    import dask
    import dask.dataframe as dd

    with dask.config.set(scheduler="synchronous"):
        frame = dd.read_csv(
            f"fastzips3://tables/big.csv::s3://test/{KEY}",
            storage_options={"s3": _s3_options(s3_server, s3_proxy)},
            blocksize=None,
        )
        assert int(frame["id"].count().compute()) == 200_000
        assert int(frame["id"].max().compute()) == 199_999


def test_fsspec_api(s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: bytes) -> None:
    fs, _ = fsspec.core.url_to_fs(
        f"fastzips3://::s3://test/{KEY}", s3=_s3_options(s3_server, s3_proxy)
    )
    assert fs.protocol == "fastzips3"
    assert sorted(fs.ls("", detail=False)) == ["README", "blobs", "tables"]
    assert sorted(fs.ls("tables", detail=False)) == ["tables/big.csv", "tables/small.csv"]
    info = fs.info("blobs/r.bin")
    assert (info["type"], info["size"]) == ("file", 3 << 20)
    assert fs.info("tables")["type"] == "directory"
    assert sorted(fs.find("")) == ["README", "blobs/r.bin", "tables/big.csv", "tables/small.csv"]
    assert fs.glob("tables/*.csv") == ["tables/big.csv", "tables/small.csv"]
    reference = zipfile.ZipFile(io.BytesIO(uploaded))
    blob = reference.read("blobs/r.bin")
    assert fs.cat_file("README") == b"read me"
    assert fs.cat_file("blobs/r.bin", start=1000, end=2000) == blob[1000:2000]
    assert fs.cat_file("blobs/r.bin", start=-10) == blob[-10:]
    ranges = fs.cat_ranges(
        ["blobs/r.bin", "blobs/r.bin", "README"], [5, 2_000_000, 0], [9, 2_000_010, 4]
    )
    assert ranges == [blob[5:9], blob[2_000_000:2_000_010], b"read"]
    with fs.open("tables/small.csv", "rb") as f:
        assert f.readline() == b"id,name,value\n"
    with pytest.raises(FileNotFoundError):
        fs.info("nope")
    with pytest.raises(ValueError, match="read-only"):
        fs.open("README", "wb")
    fs.close()


def test_cat_and_cat_ranges_of_many_members_share_gets(
    s3_server: LocalS3Server, s3_proxy: CountingProxy
) -> None:
    members = [(f"rows/{i:04d}.json", b'{"n": %d}\n' % i, "deflate") for i in range(1500)]
    data = make_zip([*members, ("blob.bin", random_bytes(random.Random(2), 9 << 20), "stored")])
    client = s3_server.client()
    client.put_object(Bucket="test", Key="fsspec/many.zip", Body=data)
    client.close()
    fs, _ = fsspec.core.url_to_fs(
        "fastzips3://::s3://test/fsspec/many.zip",
        s3=_s3_options(s3_server, s3_proxy),
        fastzips3={"directory_cache": False},
    )
    reference = zipfile.ZipFile(io.BytesIO(data))
    before = s3_proxy.count("GET")
    got = fs.cat("rows/*.json")
    assert isinstance(got, dict) and len(got) == 1500
    assert all(got[name] == reference.read(name) for name, _, _ in members[::50])
    assert s3_proxy.count("GET") - before <= 2  # one span for all of them (the listing before)
    assert fs.cat("rows/0007.json") == b'{"n": 7}\n'  # one path: its bytes, as fsspec's cat
    names = [f"rows/{i:04d}.json" for i in range(0, 1500, 3)]
    before = s3_proxy.count("GET")
    slices = fs.cat_ranges([*names, "blob.bin"], [1] * len(names) + [100], [4] * len(names) + [110])
    assert slices[:-1] == [reference.read(n)[1:4] for n in names]
    assert slices[-1] == reference.read("blob.bin")[100:110]
    assert s3_proxy.count("GET") - before <= 3
    fs.close()
