"""The operations the pytest-benchmark cases time, one function per reader and scenario.

Each function does exactly what a user would write, opens and closes the archive itself (so a
listing is part of every case, as it is for a user), and returns what the caller checks after
the clock stops: a count, or the bytes, or a CRC-32. Where an archive comes from is a
:class:`Where`: a local path, or an S3 URL with the file objects users hand to ``zipfile``
(``fastzips3.RemoteFile``, ``s3fs``).
"""

from __future__ import annotations

import contextlib
import struct
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from pytest_benchmark.fixture import BenchmarkFixture

import fastzips3
from benchmarks.readers import read_exactly, seek_reads

__all__ = [
    "STREAM_CHUNK",
    "Where",
    "dropin_list",
    "dropin_read",
    "dropin_testzip",
    "fastzips3_list",
    "fastzips3_read",
    "fastzips3_iter_parallel",
    "fastzips3_read_parallel",
    "fastzips3_seek_read",
    "fastzips3_seek_reads",
    "fastzips3_stream",
    "fastzips3_testzip",
    "measure",
    "zipfile_list",
    "zipfile_read",
    "zipfile_seek_read",
    "zipfile_seek_reads",
    "zipfile_stream",
    "zipfile_testzip",
]

T = TypeVar("T")

#: Read size of the streamed cases (what ``shutil.copyfileobj`` would use on a large file).
STREAM_CHUNK = 8 << 20
#: The random-access and seek scenarios, shared by the local and S3 cases.
RANDOM_READS = 1000
RANDOM_SIZE = 4096
SEEK_AT = 0.9
SEEK_SIZE = 1 << 20
#: Open without the directory cache: every case lists the archive itself, as zipfile does.
COLD: dict[str, Any] = {"directory_cache": False}


@dataclass(frozen=True)
class Where:
    """One archive as each kind of reader opens it.

    Attributes:
        target: What ``fastzips3.open_archive`` gets (a path or an ``s3://`` URL).
        options: Options for ``open_archive`` / ``fastzips3.ZipFile`` (e.g. ``s3_client``).
        zipfile_file: Makes what ``zipfile.ZipFile`` gets: a path, or a fresh file object that
            ``zipfile`` closes with the archive.
    """

    target: str
    options: dict[str, Any] = field(default_factory=dict)
    zipfile_file: Callable[[], Any] | None = None

    def for_zipfile(self) -> Any:
        """A path or a new file object for ``zipfile.ZipFile``."""
        return self.target if self.zipfile_file is None else self.zipfile_file()


#: Roles a case can play in its group; ``render.py`` computes each case's ratio against the
#: ``zipfile`` case (the fastest one, when a group has several), the ``isal`` baseline and the
#: ``sequential`` read.
ROLES = ("zipfile", "isal", "sequential", "fastzips3", "other")


def measure(
    benchmark: BenchmarkFixture,
    fn: Callable[[], T],
    *,
    label: str,
    role: str,
    rounds: int,
    warmup: int = 0,
) -> T:
    """Time ``fn`` for ``rounds`` rounds of one call each; note its label and role."""
    if role not in ROLES:
        raise ValueError(f"role {role!r} is not one of {ROLES}")
    benchmark.extra_info["label"] = label
    benchmark.extra_info["role"] = role
    pedantic: Callable[..., T] = benchmark.pedantic  # untyped in pytest-benchmark
    result: T = pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=warmup)
    return result


@contextlib.contextmanager
def _zipfile(where: Where) -> Iterator[zipfile.ZipFile]:
    """``zipfile.ZipFile`` on ``where``; a file object made for it is closed with it."""
    source = where.for_zipfile()
    try:
        with zipfile.ZipFile(source) as zf:
            yield zf
    finally:
        if not isinstance(source, str):
            source.close()


# --- listing ---------------------------------------------------------------------------------


def zipfile_list(where: Where) -> int:
    """``zipfile.ZipFile(x).infolist()``: the number of entries."""
    with _zipfile(where) as zf:
        return len(zf.infolist())


def fastzips3_list(where: Where, **options: Any) -> int:
    """``fastzips3.open_archive(x).entries()``: the number of entries."""
    with fastzips3.open_archive(where.target, **where.options, **options) as archive:
        return len(archive.entries())


def dropin_list(where: Where, **options: Any) -> int:
    """``fastzips3.ZipFile(x).infolist()``: the number of entries."""
    with fastzips3.ZipFile(where.target, **where.options, **options) as zf:
        return len(zf.infolist())


# --- whole members -------------------------------------------------------------------------


def zipfile_read(where: Where, member: str) -> bytes:
    """``zipfile.ZipFile(x).read(member)`` (zipfile checks the CRC-32 at the end)."""
    with _zipfile(where) as zf:
        return zf.read(member)


def zipfile_stream(where: Where, member: str) -> int:
    """``zipfile.ZipFile(x).open(member)`` read in 8 MiB pieces: the bytes read."""
    total = 0
    with _zipfile(where) as zf, zf.open(member) as f:
        while chunk := f.read(STREAM_CHUNK):
            total += len(chunk)
    return total


def fastzips3_read(where: Where, member: str, **options: Any) -> bytes:
    """``fastzips3.open_archive(x).read(member)`` (size and CRC-32 checked)."""
    with fastzips3.open_archive(where.target, **where.options, **options) as archive:
        return archive.read(member)


def fastzips3_read_parallel(where: Where, member: str, **options: Any) -> bytes:
    """``archive.read(member)`` when the member's checkpoint index is known: decoded in
    parallel from it. Fails rather than measure a sequential read if no index is found."""
    with fastzips3.open_archive(where.target, **where.options, **options) as archive:
        if archive.index(member) is None:
            raise RuntimeError(f"no checkpoint index of {member} was found")
        return archive.read(member)


def fastzips3_iter_parallel(where: Where, member: str, **options: Any) -> int:
    """``archive.iter_parallel(member)`` with the index known: the bytes of its pieces (the
    member's CRC-32 is checked as they come). Fails if no index is found."""
    total = 0
    with fastzips3.open_archive(where.target, **where.options, **options) as archive:
        if archive.index(member) is None:
            raise RuntimeError(f"no checkpoint index of {member} was found")
        for piece in archive.iter_parallel(member):
            total += len(piece)
    return total


def fastzips3_stream(where: Where, member: str, **options: Any) -> int:
    """``archive.open(member)`` read in 8 MiB pieces (CRC-32 checked at the end)."""
    total = 0
    with (
        fastzips3.open_archive(where.target, **where.options, **options) as archive,
        archive.open(member) as f,
    ):
        while chunk := f.read(STREAM_CHUNK):
            total += len(chunk)
    return total


def dropin_read(where: Where, member: str, **options: Any) -> bytes:
    """``fastzips3.ZipFile(x).read(member)``."""
    with fastzips3.ZipFile(where.target, **where.options, **options) as zf:
        data: bytes = zf.read(member)
        return data


# --- testing every member --------------------------------------------------------------------


def zipfile_testzip(where: Where) -> str | None:
    """``zipfile.ZipFile(x).testzip()``: the first bad member, or None."""
    with _zipfile(where) as zf:
        return zf.testzip()


def fastzips3_testzip(where: Where, **options: Any) -> str | None:
    """What ``fastzips3 test`` does: ``archive.test_members()``, every member's size and CRC-32
    checked (small members many to a read, large ones streamed on worker threads)."""
    with fastzips3.open_archive(where.target, **where.options, **options) as archive:
        for entry, problem in archive.test_members():
            if problem is not None:
                return entry.name
    return None


def dropin_testzip(where: Where, **options: Any) -> str | None:
    """``fastzips3.ZipFile(x).testzip()``."""
    with fastzips3.ZipFile(where.target, **where.options, **options) as zf:
        bad: str | None = zf.testzip()
        return bad


# --- random access ---------------------------------------------------------------------------


def _data_offset(raw: IO[bytes], info: zipfile.ZipInfo) -> int:
    raw.seek(info.header_offset)
    header = read_exactly(raw, 30)
    if header[:4] != b"PK\x03\x04":
        raise RuntimeError(f"no local header at {info.header_offset}")
    name_len: int
    extra_len: int
    name_len, extra_len = struct.unpack_from("<HH", header, 26)
    return int(info.header_offset) + 30 + name_len + extra_len


def zipfile_seek_reads(where: Where, member: str, positions: list[int], size: int) -> int:
    """``size`` bytes at each position of a stored member: the CRC-32 of them all.

    On Python 3.11, ``ZipExtFile.seek`` reads forward through the member and restarts from its
    first byte on every backward seek (hours for 1,000 seeks in 1 GiB), so this does what
    Python 3.12's ``ZipExtFile.seek`` does for stored members: ``zipfile`` finds the member,
    then the underlying file object seeks to its data.
    """
    source = where.for_zipfile()
    raw: IO[bytes] = open(source, "rb") if isinstance(source, str) else source  # noqa: SIM115
    try:
        with zipfile.ZipFile(raw) as zf:
            info = zf.getinfo(member)
            if info.compress_type != zipfile.ZIP_STORED:
                raise ValueError("random reads need a stored member")
            base = _data_offset(raw, info)
            return seek_reads(raw, base, positions, size)[1]
    finally:
        raw.close()


def fastzips3_seek_reads(
    where: Where, member: str, positions: list[int], size: int, **options: Any
) -> int:
    """``archive.open(member)``, then seek and read at each position: the CRC-32 of them all."""
    with (
        fastzips3.open_archive(where.target, **where.options, **options) as archive,
        archive.open(member) as f,
    ):
        return seek_reads(f, 0, positions, size)[1]


def zipfile_seek_read(where: Where, member: str, offset: int, size: int) -> bytes:
    """``ZipFile(x).open(member)``, ``seek(offset)``, ``read(size)`` (decodes up to offset)."""
    with _zipfile(where) as zf, zf.open(member) as f:
        f.seek(offset)
        return read_exactly(f, size)


def fastzips3_seek_read(
    where: Where,
    member: str,
    offset: int,
    size: int,
    *,
    want_index: bool,
    **options: Any,
) -> bytes:
    """``archive.open(member)``, ``seek(offset)``, ``read(size)``.

    ``want_index`` says whether the member's checkpoint index must be found (the seek starts
    at the nearest checkpoint) or must not be (the seek decodes from the member's start); the
    case fails rather than measure the other one.
    """
    with fastzips3.open_archive(where.target, **where.options, **options) as archive:
        if (archive.index(member) is not None) != want_index:
            raise RuntimeError(f"index of {member}: expected {want_index}, found the opposite")
        with archive.open(member) as f:
            f.seek(offset)
            return read_exactly(f, size)
