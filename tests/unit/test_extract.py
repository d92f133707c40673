"""Safe extraction: zip-slip, symbolic links, collisions, bombs, atomic writes, policies."""

from __future__ import annotations

import errno
import io
import os
import stat
import struct
import time
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

import pytest

import fastzips3
from fastzips3._engine.coalesce import Span
from fastzips3.errors import CRCMismatchError, LimitExceededError, UnsafePathError
from fastzips3.extract import (
    DEFAULT_MAX_RATIO,
    RATIO_MIN_BYTES,
    ExtractReport,
    extract_members,
    member_path_problem,
)
from tests.corpus.conftest import require_corpus

DATE = (2020, 1, 2, 3, 4, 6)
Member = tuple[str, bytes] | zipfile.ZipInfo | tuple[zipfile.ZipInfo, bytes]


def info(name: str, *, mode: int | None = None, date: tuple[int, ...] = DATE) -> zipfile.ZipInfo:
    """A ZipInfo made on Unix with ``mode`` (type and permission bits) when given."""
    zi = zipfile.ZipInfo(name, date_time=cast(Any, date))
    zi.create_system = 3
    if mode is not None:
        zi.external_attr = mode << 16
    return zi


def link(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    """A symbolic link member, as Info-ZIP stores one: S_IFLNK mode, the target as content."""
    return info(name, mode=stat.S_IFLNK | 0o777), target.encode()


def make(members: Sequence[Member], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate names we want
        with zipfile.ZipFile(buf, "w", method) as zf:
            for member in members:
                if isinstance(member, zipfile.ZipInfo):
                    zf.writestr(member, b"")
                    continue
                head, data = member
                zi = head if isinstance(head, zipfile.ZipInfo) else info(head, mode=0o644)
                zi.compress_type = method
                zf.writestr(zi, data)
    return buf.getvalue()


def open_zip(data: bytes) -> fastzips3.ZipArchive:
    return fastzips3.open_archive(fastzips3.MemorySource(data))


def extract(data: bytes, dest: Path, **kwargs: Any) -> ExtractReport:
    with open_zip(data) as archive:
        return extract_members(archive, dest, **kwargs)


def tree(root: Path) -> list[str]:
    """Everything below ``root`` (relative, sorted), hidden temporary files included."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if "fastzips3-tmp" in p.name]


@pytest.fixture
def dest(tmp_path: Path) -> Path:
    return tmp_path / "dest"


@pytest.fixture
def outside(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "outside"
    path.mkdir()
    yield path
    assert tree(path) == [], "something was written outside the destination"


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


# --- the ordinary case ------------------------------------------------------------------------


def test_extracts_files_and_directories(dest: Path) -> None:
    data = make([info("d/", mode=stat.S_IFDIR | 0o755), ("d/a.txt", b"alpha"), ("b.txt", b"b")])
    report = extract(data, dest)
    assert (dest / "d" / "a.txt").read_bytes() == b"alpha"
    assert (dest / "b.txt").read_bytes() == b"b"
    assert report.extracted == [str(dest / "d"), str(dest / "d" / "a.txt"), str(dest / "b.txt")]
    assert report.skipped == []
    assert report.bytes_written == 6
    assert temp_files(dest) == []


def test_members_subset_by_entry_or_name(dest: Path) -> None:
    data = make([("a.txt", b"a"), ("b.txt", b"b"), ("c.txt", b"c")])
    with open_zip(data) as archive:
        extract_members(archive, dest, [archive.getinfo("a.txt"), "c.txt"])
    assert tree(dest) == ["a.txt", "c.txt"]


def test_dot_components_are_dropped(dest: Path) -> None:
    extract(make([info("./", mode=stat.S_IFDIR | 0o755), ("./x/./y.txt", b"y")]), dest)
    assert (dest / "x" / "y.txt").read_bytes() == b"y"


def test_parallel_extraction_of_many_members(dest: Path) -> None:
    members: list[Member] = [(f"dir{i % 7}/file{i:03}.bin", os.urandom(i * 97)) for i in range(300)]
    data = make(members)
    report = extract(data, dest, workers=8)
    for name, content in cast(list[tuple[str, bytes]], members):
        assert (dest / name).read_bytes() == content
    files = [str(dest / n) for n, _ in cast(list[tuple[str, bytes]], members)]
    assert report.extracted == files  # archive order, whatever order the workers finished in
    assert report.bytes_written == sum(len(c) for _, c in cast(list[tuple[str, bytes]], members))
    assert temp_files(dest) == []


def test_progress_counts_every_byte(dest: Path) -> None:
    seen: list[int] = []
    extract(make([("a", os.urandom(3_000_000)), ("b", b"y" * 10)]), dest, on_progress=seen.append)
    assert sum(seen) == 3_000_010


def test_junk_paths(dest: Path) -> None:
    data = make([info("a/", mode=stat.S_IFDIR | 0o755), ("a/x.txt", b"x"), ("b/c/y.txt", b"y")])
    extract(data, dest, junk_paths=True)
    assert tree(dest) == ["x.txt", "y.txt"]


def test_junk_paths_collision_is_refused(dest: Path) -> None:
    with pytest.raises(UnsafePathError, match="duplicate"):
        extract(make([("a/x.txt", b"1"), ("b/x.txt", b"2")]), dest, junk_paths=True)
    assert tree(dest) == []


# --- zip-slip ---------------------------------------------------------------------------------

UNSAFE = [
    ("../evil.txt", "parent"),
    ("a/../../evil.txt", "parent"),
    ("a/b/../../../evil.txt", "parent"),
    ("/tmp/evil.txt", "absolute"),
    ("//server/share/evil.txt", "absolute"),
    ("\\evil.txt", "absolute"),
    ("\\\\server\\share\\evil.txt", "absolute"),
    ("C:\\Windows\\evil.txt", "drive"),
    ("C:evil.txt", "drive"),
    ("c:/evil.txt", "drive"),
    ("..\\evil.txt", "parent"),
    ("a\\..\\..\\evil.txt", "parent"),
    ("CON", "reserved"),
    ("nul.txt", "reserved"),
    ("dir/aux", "reserved"),
    ("COM1.log", "reserved"),
    ("lpt9", "reserved"),
    ("a/.. /evil.txt", "dots and spaces"),
    ("a/.../evil.txt", "dots and spaces"),
    ("bell\x07.txt", "control"),
    ("esc\x1b[31m.txt", "control"),
]


@pytest.mark.parametrize(("name", "reason"), UNSAFE, ids=[repr(n) for n, _ in UNSAFE])
def test_unsafe_names_are_refused_and_nothing_is_written(
    dest: Path, outside: Path, name: str, reason: str
) -> None:
    dest.mkdir()
    data = make([("good.txt", b"good"), (name, b"evil"), ("later.txt", b"later")])
    with pytest.raises(UnsafePathError) as caught:
        extract(data, dest)
    assert caught.value.name == name
    assert reason in caught.value.reason.lower()
    assert tree(dest) == []


def test_refusal_does_not_even_create_the_destination(dest: Path) -> None:
    with pytest.raises(UnsafePathError):
        extract(make([("ok.txt", b"1"), ("../x", b"2")]), dest)
    assert not dest.exists()


def test_member_path_problem() -> None:
    assert member_path_problem("a/b/c.txt") is None
    assert member_path_problem("a\\b") is None
    assert member_path_problem("...txt") is None
    assert member_path_problem("../x") is not None
    assert member_path_problem("") is not None


def test_backslashes_are_separators(dest: Path) -> None:
    extract(make([("a\\b\\c.txt", b"c")]), dest)
    assert (dest / "a" / "b" / "c.txt").read_bytes() == b"c"


def test_empty_file_path_is_refused(dest: Path) -> None:
    with pytest.raises(UnsafePathError, match="empty path"):
        extract(make([(".", b"x")]), dest)


@pytest.mark.corpus
def test_corpus_zip_slip_samples_are_refused(tmp_path: Path) -> None:
    corpus = require_corpus()
    cases = [c for c in corpus.cases if c.path.startswith("snyk-zip-slip/")]
    assert cases, "the corpus has no snyk-zip-slip samples"
    for case in cases:
        assert case.outcome == "ok_list_refuse_extract"
        target = tmp_path / case.path.replace("/", "_")
        target.mkdir()
        with fastzips3.open_archive(case.file) as archive:
            names = archive.namelist()
            assert "good.txt" in names
            assert archive.read("good.txt")  # listing and reading are fine
            with pytest.raises(UnsafePathError, match="parent directory"):
                extract_members(archive, target)
        assert tree(target) == [], case.path
    assert not (tmp_path.parent / "evil.txt").exists()


# --- symbolic links ---------------------------------------------------------------------------


def test_symlink_members_are_refused_by_default(dest: Path) -> None:
    with pytest.raises(UnsafePathError) as caught:
        extract(make([("a.txt", b"a"), link("l", "a.txt")]), dest)
    assert "symbolic link" in caught.value.reason
    assert tree(dest) == []


def test_symlink_inside_is_created_when_allowed(dest: Path) -> None:
    data = make([("d/a.txt", b"a"), link("l", "d/a.txt"), link("d/up", "../d")])
    report = extract(data, dest, allow_symlinks=True)
    assert os.readlink(dest / "l") == "d/a.txt"
    assert (dest / "l").read_bytes() == b"a"
    assert os.readlink(dest / "d" / "up") == "../d"
    assert str(dest / "l") in report.extracted


@pytest.mark.parametrize(
    "target", ["../../outside", "../d/../../x", "/etc/passwd", "\\x", "C:\\x", "..\\..\\x", ""]
)
def test_symlink_pointing_outside_is_refused(dest: Path, target: str) -> None:
    with pytest.raises(UnsafePathError):
        extract(make([("d/a", b"a"), link("d/l", target)]), dest, allow_symlinks=True)
    assert tree(dest) == []


def test_cve_2025_29787_no_write_through_an_archive_symlink(dest: Path, outside: Path) -> None:
    """A link to outside, then a file below it: refused, and nothing lands outside."""
    data = make([link("a", str(outside)), ("a/evil", b"pwned")])
    for allow in (False, True):
        with pytest.raises(UnsafePathError):
            extract(data, dest, allow_symlinks=allow)
        assert tree(dest) == []


def test_no_write_through_an_archive_symlink_even_pointing_inside(dest: Path) -> None:
    data = make([info("real/", mode=stat.S_IFDIR | 0o755), link("a", "real"), ("a/x", b"x")])
    with pytest.raises(UnsafePathError, match="goes through the symbolic link member 'a'"):
        extract(data, dest, allow_symlinks=True)
    assert tree(dest) == []


def test_no_write_through_a_case_variant_of_an_archive_symlink(dest: Path) -> None:
    data = make([info("real/", mode=stat.S_IFDIR | 0o755), link("A", "real"), ("a/x", b"x")])
    with pytest.raises(UnsafePathError):
        extract(data, dest, allow_symlinks=True)


def test_link_through_another_link_is_refused(dest: Path) -> None:
    # l1 -> "." is harmless, but "l1/.." resolves from the link's *target*: the kernel would
    # go to the parent of the destination.
    data = make([link("l1", "."), link("l2", "l1/..")])
    with pytest.raises(UnsafePathError, match="goes through another symbolic link"):
        extract(data, dest, allow_symlinks=True)
    assert tree(dest) == []


def test_link_to_a_link_is_allowed(dest: Path) -> None:
    extract(make([("f", b"f"), link("l1", "f"), link("l2", "l1")]), dest, allow_symlinks=True)
    assert (dest / "l2").read_bytes() == b"f"


def test_existing_symlink_pointing_outside_is_not_written_through(
    dest: Path, outside: Path
) -> None:
    dest.mkdir()
    (dest / "p").symlink_to(outside)
    with pytest.raises(UnsafePathError, match="pointing outside"):
        extract(make([("p/evil", b"pwned")]), dest)


def test_existing_symlink_pointing_inside_is_followed(dest: Path) -> None:
    (dest / "real").mkdir(parents=True)
    (dest / "p").symlink_to("real")
    extract(make([("p/x", b"x")]), dest)
    assert (dest / "real" / "x").read_bytes() == b"x"


def test_overwrite_replaces_an_existing_symlink_instead_of_following_it(
    dest: Path, outside: Path
) -> None:
    dest.mkdir()
    (dest / "victim").symlink_to(outside / "file")
    extract(make([("victim", b"new")]), dest, overwrite="always")
    assert not (dest / "victim").is_symlink()
    assert (dest / "victim").read_bytes() == b"new"


def test_symlink_target_too_long_is_refused(dest: Path) -> None:
    with pytest.raises(UnsafePathError, match="longer than"):
        extract(make([link("l", "a/" * 3000)]), dest, allow_symlinks=True)


# --- collisions -------------------------------------------------------------------------------


def test_duplicate_names_are_refused(dest: Path) -> None:
    with pytest.raises(UnsafePathError, match="duplicate"):
        extract(make([("a.txt", b"1"), ("b.txt", b"b"), ("a.txt", b"2")]), dest)
    assert tree(dest) == []


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("README.txt", "readme.TXT"),
        ("Dir/a", "dir/A"),
        ("caf\u00e9", "cafe\u0301"),  # NFC vs NFD
        ("x\\y", "x/y"),
    ],
)
def test_colliding_names_are_refused(dest: Path, first: str, second: str) -> None:
    with pytest.raises(UnsafePathError):
        extract(make([(first, b"1"), (second, b"2")]), dest)
    assert tree(dest) == []


def test_same_directory_twice_is_fine(dest: Path) -> None:
    d = stat.S_IFDIR | 0o755
    extract(make([info("Dir/", mode=d), info("dir/", mode=d), ("dir/a", b"a")]), dest)
    assert (dest / "dir" / "a").read_bytes() == b"a"


def test_file_used_as_a_directory_is_refused(dest: Path) -> None:
    with pytest.raises(UnsafePathError, match="file member 'a'"):
        extract(make([("a", b"file"), ("a/b", b"below a file")]), dest)
    assert tree(dest) == []


def test_existing_file_in_the_way_of_a_directory(dest: Path) -> None:
    dest.mkdir()
    (dest / "a").write_bytes(b"mine")
    with pytest.raises(NotADirectoryError):
        extract(make([("a/b", b"x")]), dest, overwrite="always")
    assert (dest / "a").read_bytes() == b"mine"


# --- integrity --------------------------------------------------------------------------------


def corrupt(data: bytes, marker: bytes) -> bytes:
    at = data.index(marker)
    return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]


def test_crc_failure_leaves_no_file_and_no_temporary_file(dest: Path) -> None:
    members: list[Member] = [(f"ok{i}.bin", os.urandom(50_000)) for i in range(20)]
    members.insert(7, ("bad.txt", b"CORRUPT-ME " * 10_000))
    data = corrupt(make(members, zipfile.ZIP_STORED), b"CORRUPT-ME")
    with pytest.raises(CRCMismatchError):
        extract(data, dest, workers=4)
    assert not (dest / "bad.txt").exists()
    assert temp_files(dest) == []


def test_crc_failure_of_a_large_deflated_member(dest: Path) -> None:
    content = os.urandom(3 << 20)
    data = bytearray(make([("big.bin", content)]))
    data[len(data) // 2] ^= 0x01  # somewhere in the (incompressible) member data
    with pytest.raises(fastzips3.errors.FormatError):
        extract(bytes(data), dest)
    assert tree(dest) == []


def test_keyboard_interrupt_leaves_no_temporary_file(dest: Path) -> None:
    def interrupt(count: int) -> None:
        raise KeyboardInterrupt

    members: list[Member] = [(f"f{i}", os.urandom(200_000)) for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        extract(make(members, zipfile.ZIP_STORED), dest, on_progress=interrupt)
    assert temp_files(dest) == []
    assert [p for p in dest.rglob("*") if p.is_file()] == []


# --- limits -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """50 MB of zeros, deflated to about 50 kB (a ratio of about 1030)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(info("small.txt", mode=0o644), b"hello")
        zeros = info("zeros.bin", mode=0o644)
        zeros.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(zeros, "w") as f:
            block = bytes(1 << 20)
            for _ in range(50):
                f.write(block)
    return buf.getvalue()


def test_ratio_bomb_is_refused_before_writing(dest: Path, bomb: bytes) -> None:
    with open_zip(bomb) as archive:
        entry = archive.getinfo("zeros.bin")
        assert entry.file_size / entry.compress_size > DEFAULT_MAX_RATIO
        with pytest.raises(LimitExceededError, match="ratio"):
            extract_members(archive, dest)
    assert tree(dest) == []


def test_total_size_limit(dest: Path, bomb: bytes) -> None:
    with pytest.raises(LimitExceededError, match="limit of 10485760"):
        extract(bomb, dest, max_ratio=None, max_total_size=10 << 20)
    assert tree(dest) == []


def test_entry_count_limit(dest: Path) -> None:
    data = make([(f"f{i}", b"x") for i in range(5)])
    with pytest.raises(LimitExceededError, match="5 members"):
        extract(data, dest, max_entries=4)
    assert tree(dest) == []
    extract(data, dest, max_entries=5)
    assert len(tree(dest)) == 5


def test_limits_can_be_turned_off(dest: Path) -> None:
    content = bytes(3 << 20)  # 3 MiB of zeros: a ratio near 1000
    extract(make([("z", content)]), dest, max_ratio=None, max_total_size=None, max_entries=None)
    assert (dest / "z").stat().st_size == len(content)


class _LyingArchive:
    """An archive whose member readers produce another (larger) member's content.

    The real reader never produces more than a member declares (it raises SizeMismatchError),
    so this is how the limits on bytes actually produced are exercised.
    """

    def __init__(self, archive: fastzips3.ZipArchive, swap: dict[str, str]) -> None:
        self._archive = archive
        self._swap = swap

    def entries(self) -> list[fastzips3.ZipEntry]:
        return self._archive.entries()

    def open(self, member: fastzips3.ZipEntry, *, verify: bool = True) -> fastzips3.MemberReader:
        return self._archive.open(self._swap.get(member.name, member.name), verify=verify)

    def _plan_spans(self, entries: list[fastzips3.ZipEntry]) -> list[Span]:
        return self._archive._plan_spans(entries)

    def _fetch_span(self, span: Span) -> bytes:
        return self._archive._fetch_span(span)

    def _read_held(self, member: fastzips3.ZipEntry, held: bytes, base: int) -> bytes:
        """What a coalesced read of ``member`` gives: the swapped member's content."""
        return self._archive.read(self._swap.get(member.name, member.name))


def test_limits_count_the_bytes_actually_produced(dest: Path) -> None:
    data = make([("small", b"s" * 100), ("big", os.urandom(4 << 20))], zipfile.ZIP_STORED)
    with open_zip(data) as archive:
        lying = cast(fastzips3.ZipArchive, _LyingArchive(archive, {"small": "big"}))
        with pytest.raises(LimitExceededError, match="extraction stopped in 'small'"):
            extract_members(lying, dest, [archive.getinfo("small")], max_total_size=1 << 20)
    assert tree(dest) == []  # stopped mid-member; the temporary file is gone


def test_ratio_counts_the_bytes_actually_produced(dest: Path) -> None:
    data = make([("small", b"s" * 100), ("zeros", bytes(4 << 20))])
    with open_zip(data) as archive:
        lying = cast(fastzips3.ZipArchive, _LyingArchive(archive, {"small": "zeros"}))
        with pytest.raises(LimitExceededError, match="produced"):
            extract_members(lying, dest, [archive.getinfo("small")])
        assert archive.getinfo("small").compress_size * DEFAULT_MAX_RATIO < 4 << 20
    assert RATIO_MIN_BYTES < 4 << 20
    assert tree(dest) == []


# --- overwriting ------------------------------------------------------------------------------


@pytest.fixture
def existing(dest: Path) -> bytes:
    (dest / "d").mkdir(parents=True)
    (dest / "d" / "a.txt").write_bytes(b"mine")
    return make([("d/a.txt", b"theirs"), ("b.txt", b"b")])


def test_overwrite_error_is_the_default_and_writes_nothing(dest: Path, existing: bytes) -> None:
    with pytest.raises(FileExistsError) as caught:
        extract(existing, dest)
    assert caught.value.filename == str(dest / "d" / "a.txt")
    # fastzips3's own error (issue 14), still the builtin with its errno and filename
    assert isinstance(caught.value, fastzips3.errors.PathExistsError)
    assert caught.value.errno == errno.EEXIST
    assert "overwrite='always'" in str(caught.value)
    assert (dest / "d" / "a.txt").read_bytes() == b"mine"
    assert not (dest / "b.txt").exists()


def test_overwrite_never_keeps_existing_files(dest: Path, existing: bytes) -> None:
    report = extract(existing, dest, overwrite="never")
    assert (dest / "d" / "a.txt").read_bytes() == b"mine"
    assert (dest / "b.txt").read_bytes() == b"b"
    assert report.skipped == [str(dest / "d" / "a.txt")]
    assert report.extracted == [str(dest / "b.txt")]


def test_overwrite_always_replaces(dest: Path, existing: bytes) -> None:
    report = extract(existing, dest, overwrite="always")
    assert (dest / "d" / "a.txt").read_bytes() == b"theirs"
    assert report.skipped == []
    assert temp_files(dest) == []


def test_a_directory_in_the_way_of_a_file(dest: Path) -> None:
    (dest / "x").mkdir(parents=True)
    data = make([("x", b"file"), ("y", b"y")])
    with pytest.raises(IsADirectoryError):
        extract(data, dest, overwrite="always")
    assert tree(dest) == ["x"]
    report = extract(data, dest, overwrite="never")
    assert report.skipped == [str(dest / "x")]
    assert (dest / "y").read_bytes() == b"y"


def test_invalid_arguments(dest: Path) -> None:
    data = make([("a", b"a")])
    with pytest.raises(ValueError, match="overwrite"):
        extract(data, dest, overwrite=cast(Any, "sometimes"))
    with pytest.raises(ValueError, match="workers"):
        extract(data, dest, workers=0)


# --- metadata ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("umask_022")
def test_modes_and_times_are_restored(dest: Path) -> None:
    ts = 1_600_000_000
    extended = info("extended.txt", mode=stat.S_IFREG | 0o644)
    extended.extra = struct.pack("<HHBl", 0x5455, 5, 1, ts)
    data = make(
        [
            (info("exec.sh", mode=stat.S_IFREG | 0o755), b"#!/bin/sh\n"),
            (info("setuid", mode=stat.S_IFREG | 0o6777), b"x"),
            (info("private", mode=stat.S_IFREG | 0o600), b"x"),
            (info("dos.txt"), b"no unix mode"),
            (extended, b"extended timestamp"),
            info("d/", mode=stat.S_IFDIR | 0o750, date=(2019, 5, 6, 7, 8, 10)),
            ("d/f", b"f"),
        ]
    )
    with open_zip(data) as archive:
        assert archive.getinfo("extended.txt").mtime == ts
    extract(data, dest)
    assert stat.S_IMODE((dest / "exec.sh").stat().st_mode) == 0o755
    assert stat.S_IMODE((dest / "setuid").stat().st_mode) == 0o755  # no setuid, no g/o write
    assert stat.S_IMODE((dest / "private").stat().st_mode) == 0o600
    assert stat.S_IMODE((dest / "d").stat().st_mode) == 0o750
    expected = time.mktime((*DATE, 0, 0, -1))
    assert (dest / "exec.sh").stat().st_mtime == expected
    assert (dest / "extended.txt").stat().st_mtime == ts
    assert (dest / "d").stat().st_mtime == time.mktime((2019, 5, 6, 7, 8, 10, 0, 0, -1))


@pytest.mark.usefixtures("umask_022")
def test_files_without_unix_mode_get_the_default_mode(dest: Path) -> None:
    zi = zipfile.ZipInfo("win.txt", date_time=DATE)
    zi.create_system = 0  # MS-DOS
    extract(make([(zi, b"w")]), dest)
    assert stat.S_IMODE((dest / "win.txt").stat().st_mode) == 0o644


def test_existing_directories_keep_their_mode(dest: Path) -> None:
    (dest / "d").mkdir(parents=True)
    os.chmod(dest / "d", 0o700)
    extract(make([info("d/", mode=stat.S_IFDIR | 0o755), ("d/x", b"x")]), dest)
    assert stat.S_IMODE((dest / "d").stat().st_mode) == 0o700


# --- a failed extraction leaves nothing (issue 14) ---------------------------------------------


PASSWORD = b"pw"


def encrypted_zip(members: Sequence[tuple[str, bytes, bool]]) -> bytes:
    """An archive of stored members, ZipCrypto-encrypted with PASSWORD where the flag says.

    Names ending in "/" are directory entries.
    """
    import random
    import zlib

    from tests.helpers.rawzip import RawMember, build_zip
    from tests.unit.test_crypto import zipcrypto_encrypt

    raw = []
    for n, (name, content, encrypted) in enumerate(members):
        if not encrypted:
            raw.append(RawMember(name, content))
            continue
        data = zipcrypto_encrypt(content, PASSWORD, zlib.crc32(content) >> 24, random.Random(n))
        raw.append(RawMember(name, content, compressed=data, flags=0x1))
    return build_zip(raw)


#: The layout of the issue's report: the encrypted member is deep, other members come first.
ENCRYPTED_TREE = [
    ("src/", b"", False),
    ("src/a.txt", b"a" * 1000, False),
    ("src/docs/", b"", False),
    ("src/docs/readme.txt", b"readme", False),
    ("src/docs/sub/", b"", False),
    ("src/docs/sub/secret.txt", b"secret" * 100, True),
    ("z.txt", b"z" * 5000, False),
]


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every path below ``root`` with a file's content (None for directories)."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): None if p.is_dir() else p.read_bytes()
        for p in sorted(root.rglob("*"))
    }


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("password", [None, "wrong"])
def test_failed_encrypted_extract_leaves_no_directory(
    tmp_path: Path, workers: int, password: str | None
) -> None:
    data = encrypted_zip(ENCRYPTED_TREE)
    dest = tmp_path / "oute"
    options: dict[str, Any] = {} if password is None else {"password": password}
    with fastzips3.open_archive(fastzips3.MemorySource(data), **options) as archive:
        with pytest.raises(fastzips3.errors.PasswordError) as caught:
            extract_members(archive, dest, workers=workers)
    assert ("wrong password" if password else "is encrypted") in str(caught.value)
    assert not dest.exists()
    assert os.listdir(tmp_path) == []
    with fastzips3.open_archive(fastzips3.MemorySource(data), password=PASSWORD) as archive:
        extract_members(archive, dest, workers=workers)  # the right password: all of it
    assert (dest / "src/docs/sub/secret.txt").read_bytes() == b"secret" * 100


def test_failed_extract_removes_the_nested_destination_it_created(tmp_path: Path) -> None:
    dest = tmp_path / "new" / "deeper" / "oute"
    with pytest.raises(fastzips3.errors.PasswordError):
        extract(encrypted_zip(ENCRYPTED_TREE), dest)
    assert os.listdir(tmp_path) == []  # "new" and "deeper" too


def test_failed_extract_into_an_existing_tree_restores_it_exactly(tmp_path: Path) -> None:
    dest = tmp_path / "existing"
    (dest / "src" / "docs").mkdir(parents=True)  # some of the archive's directories exist
    (dest / "src" / "mine.txt").write_bytes(b"mine")
    (dest / "other").mkdir()
    os.chmod(dest / "src", 0o750)
    before = snapshot(dest)
    mode = stat.S_IMODE(os.stat(dest / "src").st_mode)
    with pytest.raises(fastzips3.errors.PasswordError):
        extract(encrypted_zip(ENCRYPTED_TREE), dest)
    assert snapshot(dest) == before  # src/docs stays (it existed); src/docs/sub is gone
    assert stat.S_IMODE(os.stat(dest / "src").st_mode) == mode


@pytest.mark.parametrize("workers", [1, 4])
def test_files_completed_before_a_crc_failure_are_removed(dest: Path, workers: int) -> None:
    members: list[Member] = [(f"dir{i % 3}/ok{i}.bin", os.urandom(50_000)) for i in range(12)]
    members.append(("last/bad.txt", b"CORRUPT-ME " * 10_000))
    data = corrupt(make(members, zipfile.ZIP_STORED), b"CORRUPT-ME")
    with pytest.raises(CRCMismatchError) as caught:
        extract(data, dest, workers=workers)
    assert isinstance(caught.value, zipfile.BadZipFile)
    assert not dest.exists()


def test_a_member_failing_midway_removes_everything(tmp_path: Path) -> None:
    """The large member fails after several MiB were written; earlier files are gone too.
    (12 MiB: past a coalesced span, so it streams rather than being decoded whole first.)"""
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "keep.txt").write_bytes(b"keep")
    content = os.urandom(12 << 20)
    small: list[Member] = [(f"a/s{i}.txt", b"small %d" % i) for i in range(5)]
    data = bytearray(make([*small, ("a/b/big.bin", content)], zipfile.ZIP_STORED))
    at = bytes(data).index(content[(5 << 20) : (5 << 20) + 64])  # 5 MiB into the member
    data[at] ^= 0x01
    written: list[int] = []
    with pytest.raises(CRCMismatchError):
        extract(bytes(data), dest, workers=1, on_progress=written.append)
    assert sum(written) > 5 << 20  # it failed mid-way, not up front
    assert snapshot(dest) == {"keep.txt": b"keep"}


def test_interruption_removes_everything_the_run_created(tmp_path: Path) -> None:
    dest = tmp_path / "a" / "b"
    calls: list[int] = []

    def interrupt(count: int) -> None:
        calls.append(count)
        if len(calls) == 6:
            raise KeyboardInterrupt

    members: list[Member] = [(f"d{i % 2}/f{i}", os.urandom(200_000)) for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        extract(make(members, zipfile.ZIP_STORED), dest, workers=2, on_progress=interrupt)
    assert os.listdir(tmp_path) == []


def test_overwrite_always_replaces_nothing_when_the_run_fails(tmp_path: Path) -> None:
    """Files are renamed over their targets only once every member was verified."""
    dest = tmp_path / "out"
    (dest / "src").mkdir(parents=True)
    (dest / "src" / "a.txt").write_bytes(b"mine")
    (dest / "z.txt").write_bytes(b"mine too")
    before = snapshot(dest)
    with pytest.raises(fastzips3.errors.PasswordError):
        extract(encrypted_zip(ENCRYPTED_TREE), dest, overwrite="always")
    assert snapshot(dest) == before


def test_a_target_made_by_someone_else_meanwhile_rolls_back_the_run(tmp_path: Path) -> None:
    """Another process creates a target after the plan checked it: the exclusive create
    refuses it, the files written before it are removed, and the other file is left alone."""
    dest = tmp_path / "out"
    members: list[Member] = [("f1.txt", b"one"), ("f2.txt", b"two"), ("late.txt", b"x" * 100)]

    def race(count: int) -> None:
        if count == 3 and not (dest / "late.txt").exists():  # f1 or f2 just written
            (dest / "late.txt").write_bytes(b"someone else")

    with pytest.raises(fastzips3.errors.PathExistsError) as caught:
        extract(make(members), dest, workers=1, on_progress=race)
    assert isinstance(caught.value, FileExistsError)
    assert snapshot(dest) == {"late.txt": b"someone else"}


def test_a_failure_while_renaming_rolls_back_the_renamed_files(tmp_path: Path) -> None:
    """A streamed member (past a coalesced span) goes to a temporary file and is renamed at
    the end: another process creating its target meanwhile makes the rename refuse, the
    files written before are removed, and the other process's file is left alone."""
    dest = tmp_path / "out"
    big = os.urandom(10 << 20)
    members: list[Member] = [("f1.txt", b"one"), ("f2.txt", b"two"), ("late.bin", big)]

    def race(count: int) -> None:
        if count > 3 and not (dest / "late.bin").exists():  # late.bin's bytes: not renamed
            (dest / "late.bin").write_bytes(b"someone else")

    with pytest.raises(fastzips3.errors.PathExistsError) as caught:
        extract(make(members, zipfile.ZIP_STORED), dest, workers=1, on_progress=race)
    assert isinstance(caught.value, FileExistsError)
    assert snapshot(dest) == {"late.bin": b"someone else"}


def test_directory_entries_of_a_failed_run_are_removed_deepest_first(tmp_path: Path) -> None:
    members: list[Member] = [info("x/"), info("x/y/"), info("x/y/z/"), ("x/y/z/bad", b"B" * 100)]
    data = corrupt(make(members, zipfile.ZIP_STORED), b"B" * 100)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(CRCMismatchError):
        extract(data, dest)
    assert os.listdir(dest) == []
