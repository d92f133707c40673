"""The error contract (issue 14): every public function, driven into every failure.

The README promises that everything fastzips3 raises is a
:class:`fastzips3.errors.FastZipS3Error`, and also the builtin users already catch. The table
below calls each public entry point with a missing member, a missing archive, a non-archive,
a truncated archive, a wrong password and an unreachable server (a refused port on
127.0.0.1), and checks both halves of the promise:

=================  ============================================================================
failure            the builtin that must catch it
=================  ============================================================================
missing member     :class:`KeyError` (archive API, ``ZipFile``, as ``zipfile``), or
                   :class:`FileNotFoundError` (path API, fsspec: as the builtin ``open``)
missing archive    :class:`FileNotFoundError`
not an archive     :class:`zipfile.BadZipFile`
truncated          :class:`zipfile.BadZipFile` (cut archives, and members whose data is cut)
wrong password     :class:`RuntimeError` (:class:`~fastzips3.errors.PasswordError`, as zipfile)
unreachable        :class:`OSError`
=================  ============================================================================

A case that cannot apply to an entry point (a value type, a function that never reads a member)
is listed with the reason. :func:`test_every_public_name_has_rows` fails when a name is added to
``fastzips3.__all__`` without rows or a reason, and :func:`test_every_member_method_has_a_row`
when a method taking a member name is added to ``ZipArchive`` or ``ZipFile`` without a row.
Misuse (a closed archive, a bad argument type or value) raises :class:`ValueError` or
:class:`TypeError` as ``io`` and ``zipfile`` do; that is not part of this contract. The same
cases on S3 (SeaweedFS) are in ``tests/integration/test_error_contract_s3.py``.
"""

from __future__ import annotations

import dataclasses
import inspect
import io
import os
import pickle
import socket
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import fastzips3
from fastzips3 import errors
from fastzips3._codecs.zran import Checkpoint
from tests.helpers.rawzip import RawMember, build_zip
from tests.unit.test_extract import encrypted_zip

CASES = (
    "missing_member",
    "missing_archive",
    "not_an_archive",
    "truncated",
    "wrong_password",
    "unreachable",
)

#: The text of the deflated member: large enough for two checkpoints (member_splits).
TEXT = b"".join(b"line %06d of the member, with some words to deflate\n" % i for i in range(60_000))


@dataclass(frozen=True)
class Env:
    """The archives every row uses (local files), and the unreachable URL."""

    root: Path
    good: str  # a.txt (deflated, ~3 MB), dir/b.txt (stored)
    encrypted: str  # s.txt (ZipCrypto, PASSWORD), plain.txt
    not_zip: str
    truncated: str  # cut in the middle of the central directory
    cut_member: str  # listed fine, a.txt's compressed data cut short
    missing: str
    unreachable: str
    split: fastzips3.MemberSplit  # a split of good's a.txt

    @property
    def fast(self) -> dict[str, Any]:
        """Options that make an unreachable server fail after one attempt."""
        return {"retries": fastzips3.RetryPolicy(attempts=1), "connect_timeout": 2.0}

    @property
    def s3_unreachable(self) -> dict[str, Any]:
        """Options of an S3 endpoint on the unreachable port (dummy credentials)."""
        endpoint = self.unreachable.rsplit("/", 1)[0]
        return {
            **self.fast,
            "endpoint_url": endpoint,
            "aws_access_key_id": "AKIDUNREACHABLE",
            "aws_secret_access_key": "unreachable-secret",
            "region": "us-east-1",
        }

    def dest(self) -> Path:
        """A fresh extraction target that does not exist yet."""
        n = 0
        while (self.root / f"dest{n}").exists():
            n += 1
        return self.root / f"dest{n}"


def refused_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound once, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    root = tmp_path_factory.mktemp("contract")
    good = build_zip([RawMember("a.txt", TEXT, 8), RawMember("dir/b.txt", b"bbb")])
    packer = zlib.compressobj(6, zlib.DEFLATED, -15)
    deflated = packer.compress(TEXT) + packer.flush()
    cut = build_zip([RawMember("a.txt", TEXT, 8, compressed=deflated[: len(deflated) // 2])])
    files = {
        "good.zip": good,
        "enc.zip": encrypted_zip([("s.txt", b"secret" * 100, True), ("plain.txt", b"p", False)]),
        "not.zip": b"this is not a zip archive\n" * 100,
        "trunc.zip": good[: len(good) - 40],
        "cut.zip": cut,
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    try:
        split = fastzips3.member_splits(str(root / "good.zip"), "a.txt", 2)[0]
    except fastzips3.errors.UnsupportedError:  # the pure twin builds no checkpoint index
        split = fastzips3.MemberSplit(
            str(root / "good.zip"), "a.txt", 0, len(TEXT), len(TEXT), Checkpoint(0, 0, 0, b"")
        )
    fastzips3.clear_archive_cache()
    return Env(
        root=root,
        good=str(root / "good.zip"),
        encrypted=str(root / "enc.zip"),
        not_zip=str(root / "not.zip"),
        truncated=str(root / "trunc.zip"),
        cut_member=str(root / "cut.zip"),
        missing=str(root / "missing.zip"),
        unreachable=f"http://127.0.0.1:{refused_port()}/a.zip",
        split=split,
    )


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    yield
    fastzips3.clear_archive_cache()


# --- how rows call things -------------------------------------------------------------------


def _write_missing(e: Env) -> object:
    """ZipWriter.write of a file that does not exist (the writer is aborted, nothing made)."""
    with fastzips3.ZipWriter(e.root / "written.zip") as writer:
        writer.write(e.root / NOPE)
    return None


def with_archive(
    pick: Callable[[Env], str],
    action: Callable[[fastzips3.ZipArchive, Env], object],
    **options: Any,
) -> Callable[[Env], object]:
    """Open the archive ``pick(env)`` names, run ``action(archive, env)``, close it."""

    def run(e: Env) -> object:
        with fastzips3.open_archive(pick(e), **options) as archive:
            return action(archive, e)

    return run


def with_zipfile(
    pick: Callable[[Env], str], action: Callable[[fastzips3.ZipFile, Env], object], **options: Any
) -> Callable[[Env], object]:
    def run(e: Env) -> object:
        with fastzips3.ZipFile(pick(e), **options) as zf:
            return action(zf, e)

    return run


def read_all(f: Any) -> bytes:
    with f:
        data: bytes = f.read()
    return data


def fsspec_fs(target: str, **options: Any) -> Any:
    from fastzips3.fsspec import FastZipS3FileSystem

    return FastZipS3FileSystem(fo=target, skip_instance_cache=True, **options)


def with_fs(
    pick: Callable[[Env], str], action: Callable[[Any, Env], object], **options: Any
) -> Callable[[Env], object]:
    def run(e: Env) -> object:
        fs = fsspec_fs(pick(e), **options)
        try:
            return action(fs, e)
        finally:
            fs.close()

    return run


# --- the table --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One public name (as in ``__all__``), one call of it, one failure, the builtin expected."""

    api: str
    call: str
    case: str
    run: Callable[[Env], object]
    expected: type[BaseException]

    @property
    def id(self) -> str:
        return f"{self.call}-{self.case}"


#: Calls that build a checkpoint index, which needs the compiled core.
NEEDS_CORE = frozenset({"ZipArchive.build_index-truncated", "member_splits(cut member)-truncated"})

GOOD: Callable[[Env], str] = lambda e: e.good  # noqa: E731
ENC: Callable[[Env], str] = lambda e: e.encrypted  # noqa: E731
CUT: Callable[[Env], str] = lambda e: e.cut_member  # noqa: E731
NOPE = "nope.txt"
BAD = zipfile.BadZipFile

ROWS: list[Row] = [
    # --- open_archive / ZipArchive --------------------------------------------------------
    Row("open_archive", "open_archive", "missing_archive",
        lambda e: fastzips3.open_archive(e.missing), FileNotFoundError),
    Row("open_archive", "open_archive", "not_an_archive",
        lambda e: fastzips3.open_archive(e.not_zip), BAD),
    Row("open_archive", "open_archive", "truncated",
        lambda e: fastzips3.open_archive(e.truncated), BAD),
    Row("open_archive", "open_archive(...).read", "truncated",
        with_archive(CUT, lambda a, e: a.read("a.txt")), BAD),
    Row("open_archive", "open_archive(...).read", "missing_member",
        with_archive(GOOD, lambda a, e: a.read(NOPE)), KeyError),
    Row("open_archive", "open_archive(password=)", "wrong_password",
        with_archive(ENC, lambda a, e: a.read("s.txt"), password="wrong"), RuntimeError),
    Row("open_archive", "open_archive", "unreachable",
        lambda e: fastzips3.open_archive(e.unreachable, **e.fast), OSError),
    Row("ZipArchive", "ZipArchive", "missing_archive",
        lambda e: fastzips3.ZipArchive(e.missing), FileNotFoundError),
    Row("ZipArchive", "ZipArchive", "not_an_archive",
        lambda e: fastzips3.ZipArchive(e.not_zip), BAD),
    Row("ZipArchive", "ZipArchive", "truncated",
        lambda e: fastzips3.ZipArchive(e.truncated), BAD),
    Row("ZipArchive", "ZipArchive", "unreachable",
        lambda e: fastzips3.ZipArchive(e.unreachable, **e.fast), OSError),
    Row("ZipArchive", "ZipArchive.getinfo", "missing_member",
        with_archive(GOOD, lambda a, e: a.getinfo(NOPE)), KeyError),
    Row("ZipArchive", "ZipArchive.open", "missing_member",
        with_archive(GOOD, lambda a, e: a.open(NOPE)), KeyError),
    Row("ZipArchive", "ZipArchive.read", "missing_member",
        with_archive(GOOD, lambda a, e: a.read(NOPE)), KeyError),
    Row("ZipArchive", "ZipArchive.data_span", "missing_member",
        with_archive(GOOD, lambda a, e: a.data_span(NOPE)), KeyError),
    Row("ZipArchive", "ZipArchive.index", "missing_member",
        with_archive(GOOD, lambda a, e: a.index(NOPE)), KeyError),
    Row("ZipArchive", "ZipArchive.build_index", "missing_member",
        with_archive(GOOD, lambda a, e: a.build_index(NOPE)), KeyError),
    Row("ZipArchive", "ZipArchive.iter_parallel", "missing_member",
        with_archive(GOOD, lambda a, e: list(a.iter_parallel(NOPE))), KeyError),
    Row("ZipArchive", "ZipArchive.read_parallel", "missing_member",
        with_archive(GOOD, lambda a, e: a.read_parallel(NOPE)), KeyError),
    Row("ZipArchive", "ZipArchive.load_indexes", "missing_archive",
        with_archive(GOOD, lambda a, e: a.load_indexes(str(e.root / "no.idx"))),
        FileNotFoundError),
    Row("ZipArchive", "ZipArchive.save_indexes", "missing_archive",
        with_archive(GOOD, lambda a, e: a.save_indexes(str(e.root / "no" / "dir.idx"))),
        FileNotFoundError),
    Row("ZipArchive", "ZipArchive.read", "truncated",
        with_archive(CUT, lambda a, e: a.read("a.txt")), BAD),
    Row("ZipArchive", "ZipArchive.build_index", "truncated",
        with_archive(CUT, lambda a, e: a.build_index("a.txt")), BAD),
    Row("ZipArchive", "ZipArchive.read(password=)", "wrong_password",
        with_archive(ENC, lambda a, e: a.read("s.txt", password="wrong")), RuntimeError),
    Row("ZipArchive", "ZipArchive.open(password=)", "wrong_password",
        with_archive(ENC, lambda a, e: read_all(a.open("s.txt", password="wrong"))),
        RuntimeError),
    # --- MemberReader (made by ZipArchive.open) ---------------------------------------------
    Row("MemberReader", "MemberReader.read", "truncated",
        with_archive(CUT, lambda a, e: read_all(a.open("a.txt"))), BAD),
    Row("MemberReader", "MemberReader.seek", "truncated",
        with_archive(CUT, lambda a, e: a.open("a.txt").seek(len(TEXT) - 10)), BAD),
    Row("MemberReader", "MemberReader", "wrong_password",
        with_archive(ENC, lambda a, e: read_all(a.open("s.txt"))), RuntimeError),
    # --- MemorySource ---------------------------------------------------------------------
    Row("MemorySource", "open_archive(MemorySource)", "missing_member",
        lambda e: fastzips3.open_archive(
            fastzips3.MemorySource(Path(e.good).read_bytes())).read(NOPE), KeyError),
    Row("MemorySource", "open_archive(MemorySource)", "not_an_archive",
        lambda e: fastzips3.open_archive(fastzips3.MemorySource(b"junk" * 50)), BAD),
    Row("MemorySource", "open_archive(MemorySource)", "truncated",
        lambda e: fastzips3.open_archive(
            fastzips3.MemorySource(Path(e.truncated).read_bytes())), BAD),
    Row("MemorySource", "open_archive(MemorySource)", "wrong_password",
        lambda e: fastzips3.open_archive(
            fastzips3.MemorySource(Path(e.encrypted).read_bytes()), password="x").read("s.txt"),
        RuntimeError),
    # --- ZipFile (the zipfile drop-in) ----------------------------------------------------
    Row("ZipFile", "ZipFile", "missing_archive",
        lambda e: fastzips3.ZipFile(e.missing), FileNotFoundError),
    Row("ZipFile", "ZipFile", "not_an_archive",
        lambda e: fastzips3.ZipFile(e.not_zip), BAD),
    Row("ZipFile", "ZipFile(file object)", "not_an_archive",
        lambda e: fastzips3.ZipFile(io.BytesIO(b"junk" * 50)), BAD),
    Row("ZipFile", "ZipFile", "truncated",
        lambda e: fastzips3.ZipFile(e.truncated), BAD),
    Row("ZipFile", "ZipFile.read", "truncated",
        with_zipfile(CUT, lambda z, e: z.read("a.txt")), BAD),
    Row("ZipFile", "ZipFile.open", "truncated",
        with_zipfile(CUT, lambda z, e: read_all(z.open("a.txt"))), BAD),
    Row("ZipFile", "ZipFile.extractall", "truncated",
        with_zipfile(CUT, lambda z, e: z.extractall(e.dest())), BAD),
    Row("ZipFile", "ZipFile", "unreachable",
        lambda e: fastzips3.ZipFile(e.unreachable, **e.fast), OSError),
    Row("ZipFile", "ZipFile.getinfo", "missing_member",
        with_zipfile(GOOD, lambda z, e: z.getinfo(NOPE)), KeyError),
    Row("ZipFile", "ZipFile.open", "missing_member",
        with_zipfile(GOOD, lambda z, e: z.open(NOPE)), KeyError),
    Row("ZipFile", "ZipFile.read", "missing_member",
        with_zipfile(GOOD, lambda z, e: z.read(NOPE)), KeyError),
    Row("ZipFile", "ZipFile.extract", "missing_member",
        with_zipfile(GOOD, lambda z, e: z.extract(NOPE, e.dest())), KeyError),
    Row("ZipFile", "ZipFile.extractall", "missing_member",
        with_zipfile(GOOD, lambda z, e: z.extractall(e.dest(), [NOPE])), KeyError),
    Row("ZipFile", "ZipFile.read", "wrong_password",
        with_zipfile(ENC, lambda z, e: z.read("s.txt", pwd=b"wrong")), RuntimeError),
    Row("ZipFile", "ZipFile.read(no pwd)", "wrong_password",
        with_zipfile(ENC, lambda z, e: z.read("s.txt")), RuntimeError),
    Row("ZipFile", "ZipFile.extract", "wrong_password",
        with_zipfile(ENC, lambda z, e: z.extract("s.txt", e.dest(), pwd=b"wrong")),
        RuntimeError),
    Row("ZipFile", "ZipFile.extractall", "wrong_password",
        with_zipfile(ENC, lambda z, e: z.extractall(e.dest(), pwd=b"wrong")), RuntimeError),
    # --- RemoteFile -----------------------------------------------------------------------
    Row("RemoteFile", "RemoteFile", "missing_archive",
        lambda e: fastzips3.RemoteFile(e.missing), FileNotFoundError),
    Row("RemoteFile", "RemoteFile", "unreachable",
        lambda e: fastzips3.RemoteFile(e.unreachable, **e.fast), OSError),
    # --- open / listdir / stat ------------------------------------------------------------
    Row("open", "open(member)", "missing_member",
        lambda e: fastzips3.open(f"{e.good}/{NOPE}"), FileNotFoundError),
    Row("open", "open(member!/)", "missing_member",
        lambda e: fastzips3.open(f"{e.good}!/{NOPE}"), FileNotFoundError),
    Row("open", "open(directory)", "missing_member",
        lambda e: fastzips3.open(f"{e.good}/dir"), IsADirectoryError),
    Row("open", "open(member)", "missing_archive",
        lambda e: fastzips3.open(f"{e.missing}/a.txt"), FileNotFoundError),
    Row("open", "open(local file)", "missing_archive",
        lambda e: fastzips3.open(str(e.root / "missing.txt")), FileNotFoundError),
    Row("open", "open(member)", "not_an_archive",
        lambda e: fastzips3.open(f"{e.not_zip}/a.txt"), BAD),
    Row("open", "open(member)", "truncated",
        lambda e: fastzips3.open(f"{e.truncated}/a.txt"), BAD),
    Row("open", "open(member).read", "truncated",
        lambda e: read_all(fastzips3.open(f"{e.cut_member}/a.txt")), BAD),
    Row("open", "open(member, password=)", "wrong_password",
        lambda e: read_all(fastzips3.open(f"{e.encrypted}/s.txt", password="wrong")),
        RuntimeError),
    Row("open", "open(member)", "unreachable",
        lambda e: fastzips3.open(f"{e.unreachable}/a.txt", **e.fast), OSError),
    Row("open", "open(object)", "unreachable",
        lambda e: fastzips3.open(e.unreachable, **e.fast), OSError),
    Row("listdir", "listdir(directory)", "missing_member",
        lambda e: fastzips3.listdir(f"{e.good}/nope/"), FileNotFoundError),
    Row("listdir", "listdir", "missing_archive",
        lambda e: fastzips3.listdir(e.missing), FileNotFoundError),
    Row("listdir", "listdir(local directory)", "missing_archive",
        lambda e: fastzips3.listdir(str(e.root / "no-such-dir")), FileNotFoundError),
    Row("listdir", "listdir", "not_an_archive",
        lambda e: fastzips3.listdir(e.not_zip), BAD),
    Row("listdir", "listdir", "truncated",
        lambda e: fastzips3.listdir(e.truncated), BAD),
    Row("listdir", "listdir", "unreachable",
        lambda e: fastzips3.listdir(e.unreachable, **e.fast), OSError),
    Row("stat", "stat(member)", "missing_member",
        lambda e: fastzips3.stat(f"{e.good}/{NOPE}"), FileNotFoundError),
    Row("stat", "stat(member)", "missing_archive",
        lambda e: fastzips3.stat(f"{e.missing}/a.txt"), FileNotFoundError),
    Row("stat", "stat(local file)", "missing_archive",
        lambda e: fastzips3.stat(e.missing), FileNotFoundError),
    Row("stat", "stat(member)", "not_an_archive",
        lambda e: fastzips3.stat(f"{e.not_zip}/a.txt"), BAD),
    Row("stat", "stat(member)", "truncated",
        lambda e: fastzips3.stat(f"{e.truncated}/a.txt"), BAD),
    Row("stat", "stat(member)", "unreachable",
        lambda e: fastzips3.stat(f"{e.unreachable}/a.txt", **e.fast), OSError),
    Row("stat", "stat(object)", "unreachable",
        lambda e: fastzips3.stat(e.unreachable, **e.fast), OSError),
    # --- extraction -----------------------------------------------------------------------
    Row("extract_members", "extract_members", "missing_member",
        with_archive(GOOD, lambda a, e: fastzips3.extract_members(a, e.dest(), [NOPE])),
        KeyError),
    Row("extract_members", "extract_members", "truncated",
        with_archive(CUT, lambda a, e: fastzips3.extract_members(a, e.dest())), BAD),
    Row("extract_members", "extract_members", "wrong_password",
        with_archive(ENC, lambda a, e: fastzips3.extract_members(a, e.dest()),
                     password="wrong"),
        RuntimeError),
    Row("extract_members", "extract_members(no password)", "wrong_password",
        with_archive(ENC, lambda a, e: fastzips3.extract_members(a, e.dest())), RuntimeError),
    # --- writing: append / ZipWriter (mode "a") ---------------------------------------------
    Row("append", "append", "missing_archive",
        lambda e: fastzips3.append(e.missing, {"x.txt": b"x"}), FileNotFoundError),
    Row("append", "append", "not_an_archive",
        lambda e: fastzips3.append(e.not_zip, {"x.txt": b"x"}), BAD),
    Row("append", "append", "truncated",
        lambda e: fastzips3.append(e.truncated, {"x.txt": b"x"}), BAD),
    Row("append", "append", "unreachable",
        lambda e: fastzips3.append(e.unreachable, {"x.txt": b"x"}, **e.fast), OSError),
    Row("append", "append(missing file)", "missing_member",
        lambda e: fastzips3.append(e.good, [str(e.root / NOPE)]), FileNotFoundError),
    Row("ZipWriter", "ZipWriter(mode='a')", "missing_archive",
        lambda e: fastzips3.ZipWriter(e.missing, "a"), FileNotFoundError),
    Row("ZipWriter", "ZipWriter(mode='a')", "not_an_archive",
        lambda e: fastzips3.ZipWriter(e.not_zip, "a"), BAD),
    Row("ZipWriter", "ZipWriter(mode='a')", "truncated",
        lambda e: fastzips3.ZipWriter(e.truncated, "a"), BAD),
    Row("ZipWriter", "ZipWriter(mode='a')", "unreachable",
        lambda e: fastzips3.ZipWriter(e.unreachable, "a", **e.fast), OSError),
    Row("ZipWriter", "ZipWriter.write(missing file)", "missing_member",
        lambda e: _write_missing(e), FileNotFoundError),
    # --- extract_to_s3 (the S3 side: tests/integration/test_extract_to_s3.py) ----------------
    Row("extract_to_s3", "extract_to_s3", "missing_archive",
        lambda e: fastzips3.extract_to_s3(e.missing, "s3://b/p/"), FileNotFoundError),
    Row("extract_to_s3", "extract_to_s3", "not_an_archive",
        lambda e: fastzips3.extract_to_s3(e.not_zip, "s3://b/p/"), BAD),
    Row("extract_to_s3", "extract_to_s3", "truncated",
        lambda e: fastzips3.extract_to_s3(e.truncated, "s3://b/p/"), BAD),
    Row("extract_to_s3", "extract_to_s3", "unreachable",
        lambda e: fastzips3.extract_to_s3(e.unreachable, "s3://b/p/", **e.fast), OSError),
    Row("extract_to_s3", "extract_to_s3", "missing_member",
        lambda e: fastzips3.extract_to_s3(e.good, "s3://b/p/", [NOPE]), KeyError),
    Row("extract_to_s3", "extract_to_s3(password=)", "wrong_password",
        lambda e: fastzips3.extract_to_s3(e.encrypted, "s3://b/p/", ["s.txt"],
                                          password="wrong", **e.s3_unreachable), RuntimeError),
    # --- splits ---------------------------------------------------------------------------
    Row("member_splits", "member_splits", "missing_member",
        lambda e: fastzips3.member_splits(e.good, NOPE, 2), KeyError),
    Row("member_splits", "member_splits", "missing_archive",
        lambda e: fastzips3.member_splits(e.missing, "a.txt", 2), FileNotFoundError),
    Row("member_splits", "member_splits", "not_an_archive",
        lambda e: fastzips3.member_splits(e.not_zip, "a.txt", 2), BAD),
    Row("member_splits", "member_splits", "truncated",
        lambda e: fastzips3.member_splits(e.truncated, "a.txt", 2), BAD),
    Row("member_splits", "member_splits(cut member)", "truncated",
        lambda e: fastzips3.member_splits(e.cut_member, "a.txt", 2), BAD),
    # An encrypted member cannot be split, whatever the password: unsupported, not a
    # password problem.
    Row("member_splits", "member_splits(encrypted)", "wrong_password",
        lambda e: fastzips3.member_splits(e.encrypted, "s.txt", 2, password="wrong"),
        NotImplementedError),
    Row("member_splits", "member_splits", "unreachable",
        lambda e: fastzips3.member_splits(e.unreachable, "a.txt", 2, **e.fast), OSError),
    Row("read_split", "read_split", "missing_member",
        lambda e: fastzips3.read_split(dataclasses.replace(e.split, member=NOPE)), KeyError),
    Row("read_split", "read_split", "missing_archive",
        lambda e: fastzips3.read_split(dataclasses.replace(e.split, archive=e.missing)),
        FileNotFoundError),
    Row("read_split", "read_split", "not_an_archive",
        lambda e: fastzips3.read_split(dataclasses.replace(e.split, archive=e.not_zip)), BAD),
    Row("read_split", "read_split", "truncated",
        lambda e: fastzips3.read_split(dataclasses.replace(e.split, archive=e.truncated)), BAD),
    Row("read_split", "read_split", "unreachable",
        lambda e: fastzips3.read_split(
            dataclasses.replace(e.split, archive=e.unreachable), **e.fast), OSError),
    # --- the manifest of many archives ---------------------------------------------------
    Row("manifest", "manifest", "missing_archive",
        lambda e: fastzips3.manifest([e.good, e.missing]), FileNotFoundError),
    Row("manifest", "manifest(glob)", "missing_archive",
        lambda e: fastzips3.manifest(str(e.root / "no-such-*.zip")), FileNotFoundError),
    Row("manifest", "manifest", "not_an_archive",
        lambda e: fastzips3.manifest([e.good, e.not_zip]), BAD),
    Row("manifest", "manifest", "truncated",
        lambda e: fastzips3.manifest([e.truncated]), BAD),
    Row("manifest", "manifest", "unreachable",
        lambda e: fastzips3.manifest([e.unreachable], **e.fast), OSError),
    Row("manifest", "manifest(s3 glob)", "unreachable",
        lambda e: fastzips3.manifest("s3://b/*.zip", **e.s3_unreachable), OSError),
    Row("iter_manifest", "iter_manifest", "missing_archive",
        lambda e: list(fastzips3.iter_manifest([e.good, e.missing])), FileNotFoundError),
    Row("iter_manifest", "iter_manifest", "not_an_archive",
        lambda e: list(fastzips3.iter_manifest([e.not_zip])), BAD),
    Row("iter_manifest", "iter_manifest", "truncated",
        lambda e: list(fastzips3.iter_manifest([e.good, e.truncated])), BAD),
    Row("iter_manifest", "iter_manifest", "unreachable",
        lambda e: list(fastzips3.iter_manifest([e.unreachable], **e.fast)), OSError),
    Row("expand_archives", "expand_archives(glob)", "missing_archive",
        lambda e: fastzips3.expand_archives(str(e.root / "no-such-*.zip")), FileNotFoundError),
    Row("expand_archives", "expand_archives(s3 glob)", "unreachable",
        lambda e: fastzips3.expand_archives("s3://b/x/*.zip", **e.s3_unreachable), OSError),
    # --- the fsspec filesystem (public through the fastzips3:// protocol) -------------------
    Row("fsspec", "FastZipS3FileSystem.open", "missing_member",
        with_fs(GOOD, lambda fs, e: fs.open(NOPE)), FileNotFoundError),
    Row("fsspec", "FastZipS3FileSystem.cat_file", "missing_member",
        with_fs(GOOD, lambda fs, e: fs.cat_file(NOPE)), FileNotFoundError),
    Row("fsspec", "FastZipS3FileSystem.info", "missing_member",
        with_fs(GOOD, lambda fs, e: fs.info(NOPE)), FileNotFoundError),
    Row("fsspec", "FastZipS3FileSystem.ls", "missing_member",
        with_fs(GOOD, lambda fs, e: fs.ls("nope/")), FileNotFoundError),
    Row("fsspec", "FastZipS3FileSystem.open(directory)", "missing_member",
        with_fs(GOOD, lambda fs, e: fs.open("dir")), IsADirectoryError),
    Row("fsspec", "FastZipS3FileSystem", "missing_archive",
        lambda e: fsspec_fs(e.missing), FileNotFoundError),
    Row("fsspec", "FastZipS3FileSystem", "not_an_archive",
        lambda e: fsspec_fs(e.not_zip), BAD),
    Row("fsspec", "FastZipS3FileSystem", "truncated",
        lambda e: fsspec_fs(e.truncated), BAD),
    Row("fsspec", "FastZipS3FileSystem.cat_file", "truncated",
        with_fs(CUT, lambda fs, e: fs.cat_file("a.txt")), BAD),
    Row("fsspec", "FastZipS3FileSystem.cat_file", "wrong_password",
        with_fs(ENC, lambda fs, e: fs.cat_file("s.txt"), password="wrong"), RuntimeError),
    Row("fsspec", "FastZipS3FileSystem", "unreachable",
        lambda e: fsspec_fs(e.unreachable, retries=fastzips3.RetryPolicy(attempts=1),
                            connect_timeout=2.0), OSError),
]  # fmt: skip

#: Public names with nothing to drive into these failures, and why.
NOT_APPLICABLE: dict[str, str] = {
    "CoreInfo": "a value type (what core_info reports)",
    "EngineConfig": "a value type (engine settings)",
    "ExtractReport": "a value type (what extract_members did)",
    "ManifestFailure": "a value type (an archive iter_manifest could not list)",
    "ManifestRow": "a value type (one member of a manifest)",
    "MemberSplit": "a value type (read_split's rows drive it)",
    "ObjectVersion": "a value type (size and ETag)",
    "OpenOptions": "a TypedDict of options",
    "PathInfo": "a value type (what stat reports)",
    "RetryPolicy": "a value type (its argument checks are misuse: ValueError)",
    "Source": "a Protocol: sources are driven through open_archive and RemoteFile",
    "Stats": "a value type (requests and bytes)",
    "ZipEntry": "a value type (a listed entry)",
    "ZipInfo": "a value type (zipfile's, filled by ZipFile)",
    "WriteResult": "a value type (what ZipWriter.close made)",
    "S3ExtractReport": "a value type (what extract_to_s3 did)",
    "__version__": "a string",
    "clear_archive_cache": "closes cached archives; reads nothing",
    "core_info": "reports the compiled core; reads nothing",
    "errors": "the exception tree itself",
    "split_archive_path": "pure string splitting; reads nothing",
}

#: Cases that cannot apply to an entry point that has rows, and why.
SKIPPED: dict[tuple[str, str], str] = {
    ("MemberReader", "missing_member"): "made by ZipArchive.open, whose rows cover it",
    ("MemberReader", "missing_archive"): "made from an open archive",
    ("MemberReader", "not_an_archive"): "made from an open archive",
    ("MemberReader", "unreachable"): "made from an open archive; see the S3 contract test",
    ("MemorySource", "missing_archive"): "bytes in memory cannot be missing",
    ("MemorySource", "unreachable"): "bytes in memory cannot be unreachable",
    ("RemoteFile", "missing_member"): "a raw file over any object: it has no members",
    ("RemoteFile", "not_an_archive"): "a raw file over any object: any bytes are fine",
    ("RemoteFile", "truncated"): "a raw file over any object: any length is fine",
    ("RemoteFile", "wrong_password"): "a raw file: it decrypts nothing",
    ("listdir", "wrong_password"): "lists names, decrypts nothing",
    ("stat", "wrong_password"): "reads the directory, decrypts nothing",
    ("extract_members", "missing_archive"): "takes an open ZipArchive (open_archive's rows)",
    ("extract_members", "not_an_archive"): "takes an open ZipArchive (open_archive's rows)",
    ("extract_members", "unreachable"): "takes an open ZipArchive; see the S3 contract test",
    ("read_split", "wrong_password"): "encrypted members have no splits (member_splits' row)",
    ("manifest", "missing_member"): "lists whole archives; it names no member",
    ("manifest", "wrong_password"): "lists names, decrypts nothing",
    ("iter_manifest", "missing_member"): "lists whole archives; it names no member",
    ("iter_manifest", "wrong_password"): "lists names, decrypts nothing",
    ("expand_archives", "missing_member"): "expands archive names; opens no archive",
    ("expand_archives", "not_an_archive"): "expands archive names; opens no archive",
    ("expand_archives", "truncated"): "expands archive names; opens no archive",
    ("expand_archives", "wrong_password"): "expands archive names; opens no archive",
    ("append", "wrong_password"): "copies the old members' bytes; decrypts nothing",
    ("ZipWriter", "wrong_password"): "copies the old members' bytes; decrypts nothing",
}


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_failure_is_a_fastzips3_error_and_the_builtin(env: Env, row: Row) -> None:
    if row.id in NEEDS_CORE and not fastzips3.core_info().compiled:
        # Without the core these refuse up front (UnsupportedError, also NotImplementedError)
        # before they could meet the damage; that refusal is in the tree too.
        with pytest.raises(errors.UnsupportedError):
            row.run(env)
        return
    with pytest.raises(row.expected) as caught:
        row.run(env)
    exc = caught.value
    assert isinstance(exc, errors.FastZipS3Error), (
        f"{row.call} raised {type(exc).__module__}.{type(exc).__name__}, outside the tree"
    )
    text = str(exc)
    assert text.strip(), f"{row.call}: an empty message"
    assert type(pickle.loads(pickle.dumps(exc))) is type(exc)  # errors cross processes


def test_every_public_name_has_rows() -> None:
    """A new public name needs rows (or a reason) here before it ships."""
    covered = {row.api for row in ROWS}
    public = set(fastzips3.__all__)
    missing = sorted(public - covered - set(NOT_APPLICABLE))
    assert not missing, f"public names without error-contract rows: {missing}"
    assert not (covered & set(NOT_APPLICABLE)), "a name both has rows and is not applicable"
    stale = sorted(set(NOT_APPLICABLE) - public)
    assert not stale, f"not public any more: {stale}"
    for api in sorted(covered - {"fsspec"}):
        assert api in public, f"rows for {api}, which is not public"
    for api in sorted(covered):
        cases = {row.case for row in ROWS if row.api == api}
        for case in CASES:
            assert case in cases or (api, case) in SKIPPED, f"{api}: no row for {case}"
    for api, case in SKIPPED:
        assert api in covered and case in CASES
        assert not any(r.api == api and r.case == case for r in ROWS), (api, case)


@pytest.mark.parametrize("cls", [fastzips3.ZipArchive, fastzips3.ZipFile])
def test_every_member_method_has_a_row(cls: type) -> None:
    """Each public method taking a member by name has a missing-member row."""
    calls = {row.call for row in ROWS if row.case == "missing_member"}
    for name, method in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith("_"):
            continue
        params = list(inspect.signature(method).parameters)[1:2]
        if params and params[0] in ("member", "name"):
            assert f"{cls.__name__}.{name}" in calls, f"{cls.__name__}.{name}: no row"


def test_missing_member_keeps_zipfile_semantics(env: Env) -> None:
    """``except KeyError`` code written for zipfile works on both ZipFile and ZipArchive."""
    with fastzips3.open_archive(env.good) as archive, pytest.raises(KeyError) as caught:
        archive.read(NOPE)
    exc = caught.value
    assert isinstance(exc, errors.MemberNotFoundError)
    assert exc.name == NOPE
    assert NOPE in str(exc) and env.good in str(exc)
    with zipfile.ZipFile(env.good) as ref, fastzips3.ZipFile(env.good) as ours:
        with pytest.raises(KeyError) as theirs:
            ref.getinfo(NOPE)
        with pytest.raises(errors.MemberNotFoundError) as mine:
            ours.getinfo(NOPE)
        assert str(mine.value) == str(theirs.value)


def test_path_errors_carry_errno_and_filename(env: Env) -> None:
    """What code written for the builtin ``open`` reads off the error is there."""
    import errno

    with pytest.raises(FileNotFoundError) as caught:
        fastzips3.open(f"{env.good}/{NOPE}")
    exc = caught.value
    assert isinstance(exc, errors.PathNotFoundError)
    assert exc.errno == errno.ENOENT
    assert exc.filename == exc.path == f"{env.good}!/{NOPE}"
    assert str(exc) == f"no member {NOPE!r} in {env.good}"
    with pytest.raises(FileNotFoundError) as local:
        fastzips3.open(os.path.join(env.root, "missing.txt"))
    assert isinstance(local.value, errors.PathNotFoundError)
    assert local.value.errno == errno.ENOENT
    assert local.value.filename == os.path.join(env.root, "missing.txt")
    with pytest.raises(IsADirectoryError) as directory:
        fastzips3.open(str(env.root))
    assert isinstance(directory.value, errors.PathIsADirectoryError)
    with pytest.raises(NotADirectoryError) as not_dir:
        fastzips3.listdir("http://127.0.0.1:1/not-an-archive")
    assert isinstance(not_dir.value, errors.PathNotADirectoryError)


def test_failed_rows_leave_no_extraction_behind(env: Env) -> None:
    """Every extraction row above failed: none of them left a destination behind."""
    for row in ROWS:
        if "extract" in row.call:
            with pytest.raises(row.expected):
                row.run(env)
    assert not [p for p in env.root.iterdir() if p.name.startswith("dest")]
