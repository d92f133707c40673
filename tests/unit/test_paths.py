"""Transparent paths: resolution rules, open/listdir/stat on local archives, nesting."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest

import fastzips3
from fastzips3.paths import ArchivePath, split_archive_path
from tests.helpers.zips import make_zip


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("s3://b/data/a.zip/dir/x.csv", ArchivePath("s3://b/data/a.zip", ("dir/x.csv",))),
        ("/data/A.ZIP/x", ArchivePath("/data/A.ZIP", ("x",))),
        ("https://h/p/a.zip/x", ArchivePath("https://h/p/a.zip", ("x",))),
        ("rel/a.zip/b", ArchivePath("rel/a.zip", ("b",))),
        ("s3://b/o.zip/in.zip/d/f", ArchivePath("s3://b/o.zip", ("in.zip", "d/f"))),
        ("s3://b/blob.bin!/x.csv", ArchivePath("s3://b/blob.bin", ("x.csv",))),
        ("s3://b/a.zip!/in.dat!/f", ArchivePath("s3://b/a.zip", ("in.dat", "f"))),
        ("s3://b/a.zip/", ArchivePath("s3://b/a.zip", ("",))),
        ("s3://b/a.zip", None),
        ("s3://b/dir/x.csv", None),
        ("/plain/file.txt", None),
    ],
)
def test_resolution_rules(path: str, expected: ArchivePath | None) -> None:
    assert split_archive_path(path) == expected


def test_suffixes_are_configurable() -> None:
    assert split_archive_path("s3://b/a.zip/x", ()) is None
    assert split_archive_path("s3://b/lib.jar/x", (".zip", ".jar")) == ArchivePath(
        "s3://b/lib.jar", ("x",)
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    inner_stored = make_zip([("deep/leaf.txt", b"leaf", "deflate")])
    inner_deflated = make_zip([("z.txt", b"zz" * 1000, "deflate")])
    data = make_zip(
        [
            ("top.txt", b"top\nline2\n", "deflate"),
            ("dir/", b"", "stored"),
            ("dir/a.csv", b"x,y\n1,2\n", "stored"),
            ("implicit/sub/b.bin", b"\x00\x01", "stored"),
            ("inner.zip", inner_stored, "stored"),
            ("packed.zip", inner_deflated, "deflate"),
        ]
    )
    path = tmp_path / "outer.zip"
    path.write_bytes(data)
    (tmp_path / "plain.txt").write_text("plain")
    return tmp_path


def test_open_members_binary_and_text(tree: Path) -> None:
    with fastzips3.open(tree / "outer.zip" / "top.txt") as f:
        assert f.read() == b"top\nline2\n"
    with fastzips3.open(f"{tree}/outer.zip/top.txt", "r", encoding="utf-8") as t:
        assert t.readlines() == ["top\n", "line2\n"]
    with fastzips3.open(f"file://{tree}/outer.zip/dir/a.csv") as f:
        assert f.read() == b"x,y\n1,2\n"


def test_open_plain_files_is_a_drop_in(tree: Path) -> None:
    with fastzips3.open(tree / "plain.txt", "r") as t:
        assert t.read() == "plain"
    with fastzips3.open(tree / "outer.zip") as f:
        assert f.read(2) == b"PK"


def test_nested_archives_stored_and_compressed(tree: Path) -> None:
    with fastzips3.open(f"{tree}/outer.zip/inner.zip/deep/leaf.txt") as f:
        assert f.read() == b"leaf"
    with fastzips3.open(f"{tree}/outer.zip/packed.zip/z.txt") as f:
        assert f.read() == b"zz" * 1000
    assert fastzips3.listdir(f"{tree}/outer.zip/inner.zip/") == ["deep/"]


def test_listdir(tree: Path) -> None:
    archive = str(tree / "outer.zip")
    assert fastzips3.listdir(archive) == [
        "top.txt",
        "dir/",
        "implicit/",
        "inner.zip",
        "packed.zip",
    ]
    assert fastzips3.listdir(f"{archive}/dir") == ["a.csv"]
    assert fastzips3.listdir(f"{archive}/implicit/") == ["sub/"]
    with pytest.raises(FileNotFoundError):
        fastzips3.listdir(f"{archive}/nope/")
    assert sorted(fastzips3.listdir(tree)) == ["outer.zip", "plain.txt"]


def test_stat(tree: Path) -> None:
    archive = tree / "outer.zip"
    info = fastzips3.stat(archive / "dir" / "a.csv")
    assert (info.size, info.is_dir, info.in_archive, info.method) == (8, False, True, "stored")
    assert fastzips3.stat(archive / "implicit").is_dir
    assert fastzips3.stat(f"{archive}/dir/").is_dir
    plain = fastzips3.stat(tree / "plain.txt")
    assert (plain.size, plain.in_archive) == (5, False)


def test_errors_are_the_builtin_ones(tree: Path) -> None:
    archive = tree / "outer.zip"
    with pytest.raises(FileNotFoundError, match="no member"):
        fastzips3.open(archive / "missing.txt")
    with pytest.raises(IsADirectoryError):
        fastzips3.open(archive / "dir")
    with pytest.raises(ValueError, match="read-only"):
        fastzips3.open(archive / "top.txt", "wb")
    with pytest.raises(FileNotFoundError):
        fastzips3.open(tree / "missing.zip" / "x")


def test_many_opens_list_the_archive_once(tree: Path) -> None:
    fastzips3.clear_archive_cache()
    archive = f"{tree}/outer.zip"
    for _ in range(20):
        with fastzips3.open(f"{archive}/top.txt") as f:
            f.read()
    cached = fastzips3.paths._cache
    assert len(cached) == 1
    (only,) = cached.values()
    assert only.stats.requests == 1  # one tail read served the listing and every member


def test_an_existing_local_file_wins_over_the_archive_reading(tmp_path: Path) -> None:
    weird = tmp_path / "odd.zip"
    weird.mkdir()
    (weird / "x").write_text("a real file")
    assert split_archive_path(weird / "x") is None
    with fastzips3.open(weird / "x", "r") as f:
        assert f.read() == "a real file"


def test_zipfile_still_sees_the_same_bytes(tree: Path) -> None:
    with fastzips3.open(tree / "outer.zip") as f:
        assert zipfile.ZipFile(io.BytesIO(f.read())).namelist()[0] == "top.txt"
    assert os.path.getsize(tree / "outer.zip") > 0


def test_archives_left_open_at_exit_are_quiet(tree: Path) -> None:
    """Found in CI: LocalSource.__del__ used contextlib after it was torn down at exit."""
    import subprocess
    import sys

    code = (
        "import fastzips3\n"
        f"f = fastzips3.open({str(tree / 'outer.zip' / 'top.txt')!r})\n"
        f"a = fastzips3.open_archive({str(tree / 'outer.zip')!r})\n"
        "a.cycle = a  # collected only by the last garbage collection, after module teardown\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0
    assert result.stderr == ""
