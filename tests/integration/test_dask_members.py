"""fastzips3.dask (issue 13, part 3) on a distributed.LocalCluster against SeaweedFS.

Requests are counted at a proxy outside fastzips3 (the counting proxy in front of SeaweedFS):
for 20 archives x 50 CSV members, the plan's listing GET and ONE coalesced GET per archive,
whatever runs where. Results are checked against pandas and zipfile on the same bytes.
"""

from __future__ import annotations

import io
import json
import random
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import fastzips3
from fastzips3 import errors
from tests.helpers.rawzip import RawMember, build_zip

if TYPE_CHECKING:
    from fastzips3.testing import CountingProxy, LocalS3Server

pd = pytest.importorskip("pandas")
distributed = pytest.importorskip("distributed")
pytest.importorskip("dask.dataframe")

from examples.dask_many_archives import column_sums  # noqa: E402

import fastzips3.dask as fzd  # noqa: E402

BUCKET = "test"
ARCHIVES = 20
MEMBERS = 50
COLUMNS = ["id", "a", "b", "label"]


def csv_member(rng: random.Random, archive: int, member: int) -> bytes:
    """A small CSV: a header and 20-80 rows of ints and a label."""
    lines = [",".join(COLUMNS)]
    for i in range(rng.randint(20, 80)):
        lines.append(
            f"{archive * 100_000 + member * 1000 + i},{rng.randint(-50, 500)},"
            f"{rng.randint(0, 9)},l{rng.randint(0, 4)}"
        )
    return ("\n".join(lines) + "\n").encode()


def make_archive(rng: random.Random, index: int) -> tuple[bytes, dict[str, bytes]]:
    """50 CSV members (deflated, a few stored) and a README that the glob leaves out."""
    members: dict[str, bytes] = {}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("README.txt", b"not a csv")
        for j in range(MEMBERS):
            data = csv_member(rng, index, j)
            name = f"day-{j // 10}/part-{j:03d}.csv"
            method = zipfile.ZIP_STORED if j % 7 == 0 else zipfile.ZIP_DEFLATED
            zf.writestr(name, data, compress_type=method)
            members[name] = data
    return buf.getvalue(), members


@dataclass(frozen=True)
class Uploaded:
    """The module's archives in the test bucket."""

    prefix: str
    archives: dict[str, bytes]  # URL -> archive bytes
    members: dict[str, dict[str, bytes]]  # URL -> CSV member name -> content

    def url(self, key: str) -> str:
        return f"s3://{BUCKET}/{self.prefix}/{key}"

    def truth(self) -> Any:
        frames = [
            pd.read_csv(io.BytesIO(data))
            for url in sorted(self.members)
            for data in self.members[url].values()
        ]
        return pd.concat(frames, ignore_index=True)


@pytest.fixture(scope="module")
def uploaded(s3_server: LocalS3Server) -> Uploaded:
    """20 archives of 50 CSV members under exports/, and a JSON-lines archive under json/."""
    rng = random.Random(1313)
    prefix = f"dask-{uuid.uuid4().hex[:8]}"
    archives: dict[str, bytes] = {}
    members: dict[str, dict[str, bytes]] = {}
    client = s3_server.client()
    try:
        for i in range(ARCHIVES):
            data, inside = make_archive(rng, i)
            key = f"{prefix}/exports/part-{i:03d}.zip"
            client.put_object(Bucket=BUCKET, Key=key, Body=data)
            archives[f"s3://{BUCKET}/{key}"] = data
            members[f"s3://{BUCKET}/{key}"] = inside
        client.put_object(Bucket=BUCKET, Key=f"{prefix}/exports/notes.txt", Body=b"no zip")
    finally:
        client.close()
    return Uploaded(prefix, archives, members)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A 2-worker LocalCluster (threads: quick to start on 2 cores) and its client."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=2, processes=False, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


def s3_options(server: LocalS3Server, proxy: CountingProxy, cache: Path) -> dict[str, Any]:
    """Signed access through ``proxy``, with the directory cache in ``cache``."""
    return {
        "endpoint_url": proxy.url,
        "aws_access_key_id": server.access_key,
        "aws_secret_access_key": server.secret_key,
        "region": server.region,
        "directory_cache": str(cache),
    }


def object_gets(proxy: CountingProxy) -> dict[str, list[Any]]:
    """GETs of objects (not bucket listings) at the proxy, by key."""
    out: dict[str, list[Any]] = {}
    for r in proxy.records:
        if r.method == "GET" and "list-type=2" not in r.path:
            key = r.path.split("?")[0].split(f"/{BUCKET}/", 1)[1]
            out.setdefault(key, []).append(r)
    return out


def assert_one_coalesced_read_per_archive(proxy: CountingProxy, urls: list[str]) -> None:
    """Each archive: the listing's suffix GET, then one ranged GET (the coalesced read)."""
    gets = object_gets(proxy)
    keys = sorted(u.split(f"s3://{BUCKET}/", 1)[1] for u in urls)
    assert sorted(gets) == keys
    for key, records in gets.items():
        ranges = [r.range_header for r in records]
        assert len(records) == 2, (key, ranges)
        assert ranges[0] == "bytes=-262144", (key, ranges)
        assert ranges[1] is not None and not ranges[1].startswith("bytes=-"), (key, ranges)
        assert [r.status for r in records] == [206, 206], key


# --- dataframes -------------------------------------------------------------------------------


def test_read_csv_of_a_glob_equals_pandas_with_one_coalesced_read_per_archive(
    s3_server: LocalS3Server,
    s3_proxy: CountingProxy,
    uploaded: Uploaded,
    cluster: Any,
    tmp_path: Path,
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    df = fzd.read_csv(uploaded.url("exports/*.zip"), "*.csv", storage_options=options)
    # One partition per archive (each is far under max_task_bytes), planned from the manifest.
    assert df.npartitions == ARCHIVES
    assert list(df.columns) == COLUMNS
    truth = uploaded.truth()
    rows, sums = cluster.compute([df.shape[0], df[["id", "a", "b"]].sum()], sync=True)
    assert rows == len(truth) > ARCHIVES * MEMBERS * 20
    assert sums.to_dict() == truth[["id", "a", "b"]].sum().to_dict()
    # The request plan, at the proxy: one glob listing; per archive the manifest's suffix GET
    # and one coalesced GET (meta came from the first member, in the cached listing's tail).
    listings = [r for r in s3_proxy.records if "list-type=2" in r.path]
    assert len(listings) == 1
    assert_one_coalesced_read_per_archive(s3_proxy, sorted(uploaded.archives))
    assert s3_proxy.count() == 1 + 2 * ARCHIVES


def test_planned_partitions_group_an_archive_and_cut_big_ones(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    urls = sorted(uploaded.archives)[:3]
    tasks = fzd.plan_tasks(urls, "*.csv", storage_options=options)
    assert [t.archive for t in tasks] == urls
    for task, url in zip(tasks, urls, strict=True):
        assert isinstance(task, fzd.MemberGroup)
        assert list(task.names) == sorted(uploaded.members[url])  # archive order = name order
        assert task.nbytes == sum(len(d) for d in uploaded.members[url].values())
    # A cap of ~3 members' bytes cuts each archive into several tasks, in archive order.
    small = fzd.plan_tasks(urls, "*.csv", storage_options=options, max_task_bytes=4000)
    assert len(small) > 3 * 10
    for url in urls:
        names = [n for t in small if t.archive == url for n in t.names]  # type: ignore[union-attr]
        assert names == sorted(uploaded.members[url])
    assert all(t.nbytes <= 4000 for t in small)


def test_example_sums_columns_on_a_cluster(
    s3_server: LocalS3Server,
    s3_proxy: CountingProxy,
    uploaded: Uploaded,
    cluster: Any,
    tmp_path: Path,
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    rows, sums = column_sums(uploaded.url("exports/part-00?.zip"), "*.csv", ["a", "b"], **options)
    urls = sorted(uploaded.archives)[:10]
    truth = pd.concat(
        [pd.read_csv(io.BytesIO(d)) for u in urls for d in uploaded.members[u].values()]
    )
    assert rows == len(truth)
    assert sums == {"a": int(truth["a"].sum()), "b": int(truth["b"].sum())}
    assert_one_coalesced_read_per_archive(s3_proxy, urls)


def test_read_json_lines_members(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, cluster: Any, tmp_path: Path
) -> None:
    prefix = f"dask-json-{uuid.uuid4().hex[:8]}"
    rng = random.Random(7)
    expected: list[dict[str, Any]] = []
    client = s3_server.client()
    try:
        for i in range(4):
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                for j in range(12):
                    records = [
                        {"k": f"{i}-{j}-{n}", "v": rng.randint(0, 100), "w": rng.random()}
                        for n in range(rng.randint(1, 30))
                    ]
                    expected.extend(records)
                    body = "".join(json.dumps(r) + "\n" for r in records)
                    zf.writestr(f"events/{j:02d}.json", body)
                zf.writestr("events/skip.csv", "x\n1\n")
            client.put_object(Bucket=BUCKET, Key=f"{prefix}/j{i}.zip", Body=buf.getvalue())
    finally:
        client.close()
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    df = fzd.read_json(
        f"s3://{BUCKET}/{prefix}/*.zip",
        "events/*.json",
        storage_options=options,
        include_path_column=True,
    )
    assert df.npartitions == 4
    got = cluster.compute(df, sync=True)
    assert sorted(got["k"]) == sorted(r["k"] for r in expected)
    assert int(got["v"].sum()) == sum(r["v"] for r in expected)
    assert got["path"].str.match(rf"s3://{BUCKET}/{prefix}/j\d\.zip!/events/\d\d\.json").all()
    assert len(object_gets(s3_proxy)) == 4
    assert all(len(r) == 2 for r in object_gets(s3_proxy).values())


# --- the bag, errors --------------------------------------------------------------------------


def test_read_members_bag_gives_every_member_once(
    s3_server: LocalS3Server,
    s3_proxy: CountingProxy,
    uploaded: Uploaded,
    cluster: Any,
    tmp_path: Path,
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    urls = sorted(uploaded.archives)[:5]
    bag = fzd.read_members(urls, "day-[12]/*", storage_options=options)
    records = cluster.compute(bag, sync=True)
    got = {(r["archive"], r["name"]): r["data"] for r in records}
    want = {
        (u, n): d
        for u in urls
        for n, d in uploaded.members[u].items()
        if n[:5] in ("day-1", "day-2")
    }
    assert got == want
    assert len(records) == len(want) == 5 * 20
    assert all(r["offset"] == 0 and r["size"] == len(r["data"]) for r in records)
    assert_one_coalesced_read_per_archive(s3_proxy, urls)


def test_a_member_failing_its_crc_names_the_archive_and_the_member(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, cluster: Any, tmp_path: Path
) -> None:
    prefix = f"dask-crc-{uuid.uuid4().hex[:8]}"
    good = b"id,a\n1,2\n"
    members = [RawMember(f"m{j}.csv", good, 8) for j in range(6)]
    members[3] = RawMember("m3.csv", good, 0, compressed=b"id,a\n1,3\n")  # same size, bad CRC
    client = s3_server.client()
    try:
        for i, body in enumerate([build_zip([RawMember("ok.csv", good, 8)]), build_zip(members)]):
            client.put_object(Bucket=BUCKET, Key=f"{prefix}/a{i}.zip", Body=body)
    finally:
        client.close()
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    df = fzd.read_csv(f"s3://{BUCKET}/{prefix}/*.zip", storage_options=options)
    with pytest.raises(errors.CRCMismatchError) as caught:
        cluster.compute(df, sync=True)
    assert caught.value.name == "m3.csv"
    assert "m3.csv" in str(caught.value)
    assert f"s3://{BUCKET}/{prefix}/a1.zip" in str(caught.value)
    bag = fzd.read_members(f"s3://{BUCKET}/{prefix}/a1.zip", storage_options=options)
    with pytest.raises(errors.CRCMismatchError, match=r"m3\.csv.*a1\.zip"):
        cluster.compute(bag, sync=True)


# --- extraction -------------------------------------------------------------------------------


def test_extract_archives_to_a_local_directory(
    s3_server: LocalS3Server,
    s3_proxy: CountingProxy,
    uploaded: Uploaded,
    cluster: Any,
    tmp_path: Path,
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    urls = sorted(uploaded.archives)[:4]
    reports = fzd.extract_archives(urls, tmp_path / "out", "*.csv", storage_options=options)
    assert [r.archive for r in reports] == urls
    for url in urls:
        stem = url.rsplit("/", 1)[1].removesuffix(".zip")
        for name, data in uploaded.members[url].items():
            assert (tmp_path / "out" / stem / name).read_bytes() == data
        assert not (tmp_path / "out" / stem / "README.txt").exists()
    assert sum(r.bytes_written for r in reports) == sum(
        len(d) for u in urls for d in uploaded.members[u].values()
    )
    assert_one_coalesced_read_per_archive(s3_proxy, urls)
    # Again: the targets exist, and overwrite="error" (the default) refuses them.
    with pytest.raises(errors.PathExistsError):
        fzd.extract_archives(urls[:1], tmp_path / "out", "*.csv", storage_options=options)


def test_extract_archives_to_s3(
    s3_server: LocalS3Server,
    s3_proxy: CountingProxy,
    uploaded: Uploaded,
    cluster: Any,
    tmp_path: Path,
) -> None:
    """To an s3:// prefix, each task is one extract_to_s3 call: the members come from one
    coalesced read per archive and each becomes an object (one PUT), below the archive's
    directory."""
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    urls = sorted(uploaded.archives)[:3]
    dest = f"s3://{BUCKET}/{uploaded.prefix}/extracted/"
    reports = fzd.extract_archives(urls, dest, "day-0/*.csv", storage_options=options)
    assert [r.archive for r in reports] == urls
    client = s3_server.client()
    try:
        for url, report in zip(urls, reports, strict=True):
            stem = url.rsplit("/", 1)[1].removesuffix(".zip")
            wanted = {n: d for n, d in uploaded.members[url].items() if n.startswith("day-0/")}
            assert report.dest == f"{dest}{stem}"
            assert sorted(report.extracted) == sorted(
                f"{uploaded.prefix}/extracted/{stem}/{n}" for n in wanted
            )
            assert report.bytes_written == sum(len(d) for d in wanted.values())
            for name, data in wanted.items():
                key = f"{uploaded.prefix}/extracted/{stem}/{name}"
                assert client.get_object(Bucket=BUCKET, Key=key)["Body"].read() == data
    finally:
        client.close()
    reads = {k: v for k, v in object_gets(s3_proxy).items() if "/extracted/" not in k}
    assert len(reads) == 3
    for key, records in reads.items():
        assert [r.range_header is not None for r in records] == [True, True], key
    puts = [r for r in s3_proxy.records if r.method == "PUT"]
    assert len(puts) == 3 * 10


# --- worker processes -------------------------------------------------------------------------


def test_worker_processes_read_with_one_coalesced_read_per_archive(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    """Tasks pickle (URL, options, names: no open archive) and run in other processes, which
    share the client's directory cache: still one coalesced read per archive."""
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    urls = sorted(uploaded.archives)[:6]
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        df = fzd.read_csv(urls, "*.csv", storage_options=options)
        rows, total = client.compute([df.shape[0], df["a"].sum()], sync=True)
    truth = pd.concat(
        [pd.read_csv(io.BytesIO(d)) for u in urls for d in uploaded.members[u].values()]
    )
    assert rows == len(truth)
    assert int(total) == int(truth["a"].sum())
    assert_one_coalesced_read_per_archive(s3_proxy, urls)


# --- a large member -------------------------------------------------------------------------


@pytest.mark.skipif(
    not fastzips3.core_info().compiled,
    reason="member splits come from a checkpoint index, which needs the compiled core",
)
def test_a_large_deflate_member_is_split_by_its_checkpoint_index(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, cluster: Any, tmp_path: Path
) -> None:
    rows = 1_200_000  # about 26 MB: checkpoints are 8 MiB apart
    big = "id,a,b,label\n" + "".join(f"{i},{i % 997},{i % 7},x{i % 3}\n" for i in range(rows))
    small = b"id,a,b,label\n-1,5,6,s\n-2,7,8,s\n"
    body = build_zip(
        [
            RawMember("a-small.csv", small, 8),
            RawMember("big.csv", big.encode(), 8),
            RawMember("z-small.csv", small, 0),
        ]
    )
    key = f"dask-big-{uuid.uuid4().hex[:8]}/big.zip"
    client = s3_server.client()
    try:
        client.put_object(Bucket=BUCKET, Key=key, Body=body)
    finally:
        client.close()
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    url = f"s3://{BUCKET}/{key}"
    cap = 4 << 20  # asks for 7 pieces: one per usable checkpoint
    tasks = fzd.plan_tasks(
        url, "*.csv", storage_options=options, max_task_bytes=cap, split_large=True
    )
    pieces = [t for t in tasks if isinstance(t, fzd.MemberPiece)]
    assert len(pieces) >= 2
    assert pieces[0].split.start == 0
    assert pieces[-1].split.end == len(big)
    assert [type(t).__name__ for t in tasks] == ["MemberGroup"] + ["MemberPiece"] * len(pieces) + [
        "MemberGroup"
    ]
    df = fzd.read_csv(url, storage_options=options, max_task_bytes=cap)
    assert df.npartitions == len(tasks)
    got = cluster.compute(df, sync=True)
    assert len(got) == rows + 4
    assert sorted(got["id"]) == [-2, -2, -1, -1, *range(rows)]
    assert int(got["a"].sum()) == sum(i % 997 for i in range(rows)) + 24
    assert list(got.columns) == COLUMNS


# --- local archives ---------------------------------------------------------------------------


def test_local_archives_and_their_subdirectories(tmp_path: Path) -> None:
    """A local glob works as an S3 one (no directory cache: tasks list again, a local read),
    and extraction puts each archive below its path after the common directory."""
    for where, count in (("x", 2), ("y/deeper", 1)):
        (tmp_path / "in" / where).mkdir(parents=True)
        for i in range(count):
            with zipfile.ZipFile(tmp_path / "in" / where / f"a{i}.zip", "w") as zf:
                zf.writestr("t.csv", f"a,b\n{i},1\n{i},2\n")
                zf.writestr("dir/", b"")
    urls = sorted(str(p) for p in (tmp_path / "in").rglob("*.zip"))
    df = fzd.read_csv(urls, "*.csv")
    got = df.compute(scheduler="sync")
    assert sorted(got["a"]) == [0, 0, 0, 0, 1, 1]
    assert int(got["b"].sum()) == 9
    out = tmp_path / "out"
    reports = fzd.extract_archives(urls, out)  # every member, directories too
    assert sorted(str(p.relative_to(out)) for p in out.rglob("t.csv")) == [
        "x/a0/t.csv",
        "x/a1/t.csv",
        "y/deeper/a0/t.csv",
    ]
    assert (out / "x" / "a0" / "dir").is_dir()
    assert [r.dest for r in reports] == [
        str(out / "x" / "a0"),
        str(out / "x" / "a1"),
        str(out / "y" / "deeper" / "a0"),
    ]
    # Two archives that would extract to one directory are refused before any task runs.
    same = tmp_path / "same"
    same.mkdir()
    for name in ("a.zip", "A.ZIP"):
        with zipfile.ZipFile(same / name, "w") as zf:
            zf.writestr("t.csv", "a\n1\n")
    with pytest.raises(errors.UnsafePathError, match="both extract"):
        fzd.extract_archives([str(same / "a.zip"), str(same / "A.ZIP")], tmp_path / "o2")
    assert not (tmp_path / "o2").exists()


def test_a_member_pandas_cannot_parse_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("good.csv", "a,b\n1,2\n")
        zf.writestr("ragged.csv", "a,b\n1,2\n3,4,5\n")
        zf.writestr("latin.csv", "a,b\n\xe9,2\n".encode("latin-1"))
    with pytest.raises(pd.errors.ParserError, match=r"'ragged\.csv' of .*bad\.zip"):
        fzd.read_csv(str(path), "[gr]*.csv").compute(scheduler="sync")
    with pytest.raises(ValueError, match=r"'latin\.csv' of .*bad\.zip"):
        fzd.read_csv(str(path), "[gl]*.csv").compute(scheduler="sync")


def test_an_archive_replaced_after_the_plan_fails_its_task(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, cluster: Any, tmp_path: Path
) -> None:
    """Tasks read with the plan's listing, pinned to its ETag: a replaced archive fails with
    SourceChangedError (naming it) instead of mixing two versions."""
    key = f"dask-changed-{uuid.uuid4().hex[:8]}/a.zip"
    client = s3_server.client()
    try:
        members = [RawMember(f"m{j}.csv", b"a\n%d\n" % j, 8) for j in range(5)]
        client.put_object(Bucket=BUCKET, Key=key, Body=build_zip(members))
        options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
        bag = fzd.read_members(f"s3://{BUCKET}/{key}", storage_options=options)
        client.put_object(Bucket=BUCKET, Key=key, Body=build_zip(members[::-1]))
    finally:
        client.close()
    with pytest.raises(errors.SourceChangedError, match=key):
        cluster.compute(bag, sync=True)
