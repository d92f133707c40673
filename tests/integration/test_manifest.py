"""The manifest of many archives (issue 13, part 2) against SeaweedFS and local files.

Requests are counted at a proxy outside fastzips3: the plain counting proxy, or, where the
test is about concurrency, a :class:`~fastzips3.testing.WanProxy` that holds every request
0.5 s (no bandwidth cap), so that the proxy's ``max_in_flight`` shows how many requests the
manifest keeps going at once whatever the machine's load (the client spends a few ms of CPU
per archive, mostly in botocore: with a short hold, a busy 2-core machine could not start 32
requests before the first one ends). Rows are checked against the standard library's
``zipfile`` on the same bytes.
"""

from __future__ import annotations

import io
import random
import struct
import uuid
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import fastzips3
from fastzips3 import errors
from fastzips3.testing.wan import WanProxy
from tests.unit.test_extract import encrypted_zip

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from fastzips3.testing import CountingProxy, LocalS3Server

BUCKET = "test"
TOP = 200  # archives directly under exports/
DEEP = 20  # archives under exports/2024/
PAGE_FILLER = 1_050  # keys before the page's archives: they come on the 2nd listing page
PAGE_ZIPS = 5


def make_archive(rng: random.Random, index: int) -> bytes:
    """A small archive: 1-10 members, stored or deflated, some directories, seeded times."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for j in range(rng.randint(1, 10)):
            when = (
                rng.randint(1980, 2107),
                rng.randint(1, 12),
                rng.randint(1, 28),
                rng.randint(0, 23),
                rng.randint(0, 59),
                rng.randrange(0, 60, 2),
            )
            if rng.random() < 0.1:
                zf.writestr(zipfile.ZipInfo(f"d{index}/sub{j}/", when), b"")
                continue
            info = zipfile.ZipInfo(f"d{index}/file-{j:02d}.{rng.choice(['csv', 'json'])}", when)
            info.compress_type = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
            words = [rng.choice(["alpha", "beta", "gamma", "delta"]) for _ in range(300)]
            size = rng.randint(0, 3000)
            zf.writestr(info, " ".join(words).encode()[:size])
    return buf.getvalue()


def expected_rows(url: str, data: bytes) -> list[tuple[Any, ...]]:
    """What the manifest must say about ``data``, from ``zipfile`` and the local headers."""
    rows = []
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            at = info.header_offset
            name_len, extra_len = struct.unpack_from("<HH", data, at + 26)
            rows.append(
                (
                    url,
                    info.filename,
                    info.file_size,
                    info.compress_size,
                    info.CRC,
                    info.compress_type,
                    {0: "stored", 8: "deflate"}[info.compress_type],
                    at,
                    at + 30 + name_len + extra_len,
                    datetime(*info.date_time),
                    info.is_dir(),
                    bool(info.flag_bits & 1),
                )
            )
    return rows


@dataclass(frozen=True)
class Uploaded:
    """The archives of this module in the test bucket, with their bytes."""

    prefix: str
    archives: dict[str, bytes]  # s3 URL -> bytes

    def url(self, key: str) -> str:
        return f"s3://{BUCKET}/{self.prefix}/{key}"

    def under(self, part: str) -> list[str]:
        start = self.url(part)
        return sorted(u for u in self.archives if u.startswith(start))


@pytest.fixture(scope="module")
def uploaded(s3_server: LocalS3Server) -> Uploaded:
    """220 seeded archives (200 in exports/, 20 in exports/2024/), a non-archive key, an
    encrypted archive, and 1,050 filler keys before 5 archives in page/ (two listing pages)."""
    rng = random.Random(13)
    prefix = f"manifest-{uuid.uuid4().hex[:8]}"
    objects: dict[str, bytes] = {}
    for i in range(TOP):
        objects[f"exports/part-{i:04d}.zip"] = make_archive(rng, i)
    for i in range(DEEP):
        objects[f"exports/2024/part-{i:04d}.zip"] = make_archive(rng, TOP + i)
    objects["exports/notes.txt"] = b"not an archive, and not matched by *.zip"
    objects["secret/enc.zip"] = encrypted_zip([("s.txt", b"secret" * 10, True), ("p", b"p", False)])
    for i in range(PAGE_FILLER):
        objects[f"page/a-{i:05d}.txt"] = b""
    for i in range(PAGE_ZIPS):
        objects[f"page/z-{i}.zip"] = make_archive(rng, 1000 + i)
    client = s3_server.client()
    try:
        with ThreadPoolExecutor(8) as pool:  # within the client's pool of 10
            list(
                pool.map(
                    lambda kv: client.put_object(
                        Bucket=BUCKET, Key=f"{prefix}/{kv[0]}", Body=kv[1]
                    ),
                    objects.items(),
                )
            )
    finally:
        client.close()
    archives = {f"s3://{BUCKET}/{prefix}/{k}": v for k, v in objects.items() if k.endswith(".zip")}
    return Uploaded(prefix, archives)


@pytest.fixture
def slow(s3_server: LocalS3Server) -> Iterator[CountingProxy]:
    """A counting proxy that holds each request 0.5 s (no bandwidth cap)."""
    proxy: CountingProxy
    with WanProxy(s3_server.endpoint_url, latency=0.5, bandwidth=None) as proxy:
        yield proxy


def s3_options(server: LocalS3Server, proxy: CountingProxy, cache: Path) -> dict[str, Any]:
    """Options that reach the server through ``proxy``, with a directory cache in ``cache``
    (no ``s3_client``: the manifest makes its shared one)."""
    return {
        "endpoint_url": proxy.url,
        "aws_access_key_id": server.access_key,
        "aws_secret_access_key": server.secret_key,
        "region": server.region,
        "directory_cache": str(cache),
    }


def listing_requests(proxy: CountingProxy) -> list[str]:
    return [r.path for r in proxy.records if "list-type=2" in r.path]


def object_gets(proxy: CountingProxy) -> dict[str, list[Any]]:
    """The GETs of objects at the proxy, by path."""
    out: dict[str, list[Any]] = {}
    for r in proxy.records:
        if r.method == "GET" and "list-type=2" not in r.path:
            out.setdefault(r.path.split("?")[0], []).append(r)
    return out


# --- the request plan -------------------------------------------------------------------------


def test_manifest_is_one_get_per_archive_with_32_or_more_in_flight(
    s3_server: LocalS3Server, slow: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    options = s3_options(s3_server, slow, tmp_path / "cache")
    frame = fastzips3.manifest(uploaded.url("exports/**.zip"), **options)

    urls = uploaded.under("exports/")
    assert len(urls) == TOP + DEEP
    # Correct rows, in the archives' order, then central directory order.
    expected = [row for url in urls for row in expected_rows(url, uploaded.archives[url])]
    assert [tuple(r) for r in frame.itertuples(index=False)] == expected
    assert list(frame.columns) == list(fastzips3.ManifestRow._fields)
    # The plan, at the proxy: one listing page, then exactly one suffix GET per archive.
    assert len(listing_requests(slow)) == 1
    gets = object_gets(slow)
    assert sorted(gets) == sorted(f"/{BUCKET}/{u[len('s3://' + BUCKET + '/') :]}" for u in urls)
    for path, records in gets.items():
        assert len(records) == 1, path
        assert records[0].range_header == "bytes=-262144"
        assert records[0].status == 206
    assert slow.count() == len(urls) + 1
    # ... and at least 32 of them were being served at once.
    assert slow.max_in_flight >= 32, slow.max_in_flight


def test_warm_manifest_is_one_conditional_get_per_archive(
    s3_server: LocalS3Server, slow: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    options = s3_options(s3_server, slow, tmp_path / "cache")
    pattern = uploaded.url("exports/*.zip")
    first = fastzips3.manifest(pattern, **options)
    from fastzips3._engine.diskcache import wait_for_writes

    wait_for_writes()
    slow.reset()
    second = fastzips3.manifest(pattern, **options)
    assert second.equals(first)
    gets = object_gets(slow)
    assert len(gets) == TOP
    for records in gets.values():
        assert [r.status for r in records] == [304]
    assert slow.max_in_flight >= 32


def test_workers_bounds_the_requests_in_flight_and_sizes_the_shared_pool(
    s3_server: LocalS3Server, slow: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    from fastzips3.sources.resolve import s3_config
    from fastzips3.sources.s3 import _clients

    options = s3_options(s3_server, slow, tmp_path / "cache")
    before = len(_clients)
    rows = list(fastzips3.iter_manifest(uploaded.url("exports/*.zip"), workers=40, **options))
    assert {r.archive for r in rows} == set(uploaded.under("exports/part-"))
    assert len(object_gets(slow)) == TOP
    assert 32 <= slow.max_in_flight <= 40
    # One client for the listing and every archive, its pool as large as the workers.
    assert len(_clients) == before + 1
    config = s3_config(options, max_pool_connections=40)  # type: ignore[arg-type]
    client = next(c for (k, _), c in _clients.items() if k == config)
    assert client.meta.config.max_pool_connections == 40  # type: ignore[attr-defined]


# --- globs ------------------------------------------------------------------------------------


def test_star_stays_within_a_directory_and_double_star_crosses(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    top = uploaded.under("exports/part-")
    deep = uploaded.under("exports/2024/")
    assert fastzips3.expand_archives(uploaded.url("exports/*.zip"), **options) == top
    # A pattern with no wildcard after its last '/' lists with a delimiter: one page.
    assert all("delimiter=%2F" in p for p in listing_requests(s3_proxy))
    assert fastzips3.expand_archives(uploaded.url("exports/**/*.zip"), **options) == sorted(
        top + deep
    )
    assert fastzips3.expand_archives(uploaded.url("exports/*/part-000?.zip"), **options) == [
        u for u in deep if u[-8:-4] < "0010"
    ]
    assert fastzips3.expand_archives(uploaded.url("exports/part-01[0-4]?.zip"), **options) == [
        uploaded.url(f"exports/part-{i:04d}.zip") for i in range(100, 150)
    ]
    # Every listing starts at the literal prefix: nothing outside exports/ is listed.
    for path in listing_requests(s3_proxy):
        assert f"prefix={uploaded.prefix}%2Fexports%2F" in path


def test_glob_lists_every_page(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    frame = fastzips3.manifest(uploaded.url("page/*.zip"), **options)
    urls = uploaded.under("page/")
    assert len(urls) == PAGE_ZIPS
    assert sorted(set(frame["archive"])) == urls
    assert len(listing_requests(s3_proxy)) == 2  # 1,055 keys: two pages of at most 1,000
    assert len(object_gets(s3_proxy)) == PAGE_ZIPS


def test_pattern_that_matches_nothing_is_file_not_found(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    pattern = uploaded.url("exports/*.tar")
    with pytest.raises(errors.SourceNotFoundError) as caught:
        fastzips3.manifest(pattern, **options)
    assert isinstance(caught.value, FileNotFoundError)
    text = str(caught.value)
    assert pattern in text and "201 keys listed" in text and "'**' does" in text
    assert object_gets(s3_proxy) == {}
    # A bucket that does not exist: the listing's own error.
    with pytest.raises(errors.SourceNotFoundError, match="NoSuchBucket"):
        fastzips3.expand_archives("s3://no-such-bucket-here/x/*.zip", **options)
    # An empty list is no archive at all: an empty frame with every column.
    empty = fastzips3.manifest([], **options)
    assert len(empty) == 0 and list(empty.columns) == list(fastzips3.ManifestRow._fields)


# --- errors -----------------------------------------------------------------------------------


def test_errors_raise_the_first_failure_with_its_url(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    good = uploaded.under("exports/part-")[:3]
    missing = uploaded.url("exports/missing.zip")
    not_zip = uploaded.url("exports/notes.txt")
    with pytest.raises(errors.SourceNotFoundError) as caught:
        fastzips3.manifest([*good, missing, not_zip], **options)
    assert missing in str(caught.value)
    with pytest.raises(errors.EOCDNotFoundError) as not_archive:
        fastzips3.manifest([*good, not_zip, missing], **options)
    assert isinstance(not_archive.value, zipfile.BadZipFile)
    assert str(not_archive.value).endswith(f"[{not_zip}]")


def test_errors_skip_and_record(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    good = uploaded.under("exports/part-")[:3]
    missing = uploaded.url("exports/missing.zip")
    not_zip = uploaded.url("exports/notes.txt")
    targets = [good[0], missing, good[1], not_zip, good[2]]
    expected = [row for url in good for row in expected_rows(url, uploaded.archives[url])]

    skipped = fastzips3.manifest(targets, errors="skip", **options)
    assert [tuple(r) for r in skipped.itertuples(index=False)] == expected

    items = list(fastzips3.iter_manifest(targets, errors="record", **options))
    failures = [i for i in items if isinstance(i, fastzips3.ManifestFailure)]
    assert [f.archive for f in failures] == [missing, not_zip]
    assert isinstance(failures[0].error, errors.SourceNotFoundError)
    assert isinstance(failures[1].error, errors.EOCDNotFoundError)
    assert failures[1].message.startswith("EOCDNotFoundError: ")
    # In order: the failure stands where its archive was.
    order = [i.archive for i in items]
    assert order.index(missing) < order.index(good[1]) < order.index(not_zip)

    frame = fastzips3.manifest(targets, errors="record", **options)
    assert list(frame.columns) == [*fastzips3.ManifestRow._fields, "error"]
    failed = frame[frame["error"].notna()]
    assert list(failed["archive"]) == [missing, not_zip]
    assert failed["name"].isna().all() and failed["file_size"].isna().all()
    assert str(frame["file_size"].dtype) == "Int64"
    assert frame["error"].isna().sum() == len(expected)


def test_encrypted_members_are_flagged(
    s3_server: LocalS3Server, s3_proxy: CountingProxy, uploaded: Uploaded, tmp_path: Path
) -> None:
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    url = uploaded.url("secret/enc.zip")
    frame = fastzips3.manifest(url, **options)
    assert dict(zip(frame["name"], frame["encrypted"], strict=True)) == {"s.txt": True, "p": False}
    assert len(object_gets(s3_proxy)) == 1


# --- Parquet ----------------------------------------------------------------------------------


def test_parquet_locally_and_to_s3(
    s3_server: LocalS3Server,
    s3_client: S3Client,
    s3_proxy: CountingProxy,
    uploaded: Uploaded,
    tmp_path: Path,
) -> None:
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    options = s3_options(s3_server, s3_proxy, tmp_path / "cache")
    out = tmp_path / "manifest.parquet"
    frame = fastzips3.manifest(uploaded.url("exports/2024/*.zip"), parquet=out, **options)
    back = pd.read_parquet(out)
    assert back.equals(frame)
    key = f"{uploaded.prefix}/out/manifest.parquet"
    s3_proxy.reset()
    again = fastzips3.manifest(
        uploaded.url("exports/2024/*.zip"), parquet=f"s3://{BUCKET}/{key}", **options
    )
    assert [r.method for r in s3_proxy.records].count("PUT") == 1
    body = s3_client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    assert pd.read_parquet(io.BytesIO(body)).equals(again)


# --- local files ------------------------------------------------------------------------------


def test_local_globs(tmp_path: Path) -> None:
    rng = random.Random(7)
    root = tmp_path / "data"
    made: dict[str, bytes] = {}
    for rel in ["a.zip", "b.zip", ".hidden.zip", "x/c.zip", "x/y/d.zip", "e.txt"]:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        data = make_archive(rng, len(made)) if rel.endswith(".zip") else b"text"
        path.write_bytes(data)
        made[str(path)] = data
    top = sorted(str(root / n) for n in [".hidden.zip", "a.zip", "b.zip"])
    assert fastzips3.expand_archives(f"{root}/*.zip") == top
    assert fastzips3.expand_archives(f"{root}/**/*.zip") == sorted(
        [*top, str(root / "x/c.zip"), str(root / "x/y/d.zip")]
    )
    assert fastzips3.expand_archives(f"file://{root}/x/*.zip") == [f"file://{root}/x/c.zip"]
    frame = fastzips3.manifest(f"{root}/**.zip", workers=4)
    urls = fastzips3.expand_archives(f"{root}/**.zip")
    expected = [row for url in urls for row in expected_rows(url, made[url])]
    assert [tuple(r) for r in frame.itertuples(index=False)] == expected
    with pytest.raises(errors.SourceNotFoundError, match="no archive matches"):
        fastzips3.manifest(f"{root}/*.tar")
    # An HTTP(S) URL is never a pattern ('?' starts its query, and a server cannot be listed).
    for url in ["https://example.invalid/a.zip?x=*", "http://example.invalid/*.zip"]:
        assert fastzips3.expand_archives(url) == [url]
    from fastzips3.sources.listing import expand_glob

    with pytest.raises(errors.UnsupportedError, match="cannot be listed"):
        expand_glob("https://example.invalid/*.zip")


def test_fsspec_globs(tmp_path: Path) -> None:
    fsspec = pytest.importorskip("fsspec")
    fs = fsspec.filesystem("memory")
    rng = random.Random(9)
    base = f"/manifest-{uuid.uuid4().hex[:8]}"
    made: dict[str, bytes] = {}
    for rel in ["a.zip", "sub/b.zip"]:
        data = make_archive(rng, len(made))
        fs.pipe_file(f"{base}/{rel}", data)
        made[f"memory://{base}/{rel}"] = data
    try:
        assert fastzips3.expand_archives(f"memory://{base}/*.zip") == [f"memory://{base}/a.zip"]
        assert fastzips3.expand_archives(f"memory://{base}/**.zip") == sorted(made)
        frame = fastzips3.manifest(f"memory://{base}/**.zip")
        assert sorted(set(frame["archive"])) == sorted(made)
    finally:
        fs.rm(base, recursive=True)


def test_missing_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(errors.UnsupportedError, match=r"fastzips3\[pandas\]"):
        fastzips3.manifest([])
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(errors.UnsupportedError, match=r"fastzips3\[parquet\]"):
        fastzips3.manifest([], parquet=tmp_path / "x.parquet")


def test_bad_arguments_are_misuse() -> None:
    with pytest.raises(ValueError, match="workers"):
        fastzips3.manifest([], workers=0)
    with pytest.raises(ValueError, match="errors"):
        fastzips3.manifest([], errors="ignore")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="unknown option"):
        fastzips3.manifest([], endpoint="x")  # type: ignore[call-arg]
