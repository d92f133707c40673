"""Names, duplicate names and the compiled directory parser's own guards.

Name decoding follows one rule list in both implementations (``names.decode_name``): flag bit 11
means UTF-8; else a valid Info-ZIP Unicode Path field (0x7075); else ``metadata_encoding`` when
given; else UTF-8 when the name is valid UTF-8; else CP437. Each case here is listed by both
implementations (when the compiled core is built) and must give the expected name.
"""

from __future__ import annotations

import gc
import io
import os
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

import fastzips3
from fastzips3._accel import CORE
from fastzips3._engine.diskcache import wait_for_writes
from fastzips3._format.entry import ZipEntry
from fastzips3._format.names import decode_name
from fastzips3.cli import main
from fastzips3.errors import CentralDirectoryError, UnsafePathError
from fastzips3.sources.memory import MemorySource
from tests.helpers.directory import Listing, list_with

IMPLEMENTATIONS = [pytest.param(None, id="pure")]
if CORE is not None:
    IMPLEMENTATIONS.append(pytest.param(CORE, id="compiled"))


@dataclass(frozen=True)
class Member:
    """One member as the central directory states it (raw bytes, flags and extra as given)."""

    raw_name: bytes
    content: bytes = b""
    flags: int = 0
    extra: bytes = b""


def build(members: Sequence[Member], *, offset_override: int | None = None) -> bytes:
    """A stored archive of ``members``, names and extras written exactly as given."""
    out = bytearray()
    central = bytearray()
    for m in members:
        offset = len(out)
        crc = zlib.crc32(m.content)
        out += struct.pack(
            "<4s5H3L2H", b"PK\x03\x04", 20, m.flags, 0, 0, 0x5821, crc, len(m.content),
            len(m.content), len(m.raw_name), 0,
        )  # fmt: skip
        out += m.raw_name + m.content
        central += struct.pack(
            "<4s6H3L5H2L", b"PK\x01\x02", (3 << 8) | 20, 20, m.flags, 0, 0, 0x5821, crc,
            len(m.content), len(m.content), len(m.raw_name), len(m.extra), 0, 0, 0, 0o644 << 16,
            offset if offset_override is None else offset_override,
        )  # fmt: skip
        central += m.raw_name + m.extra
    cd_offset = len(out)
    out += central
    out += struct.pack(
        "<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(central), cd_offset, 0
    )
    return bytes(out)


def unicode_path(name: str, raw: bytes, *, version: int = 1, crc_delta: int = 0) -> bytes:
    """An Info-ZIP Unicode Path field (0x7075) naming ``raw`` as ``name``."""
    body = bytes([version]) + struct.pack("<L", zlib.crc32(raw) ^ crc_delta) + name.encode()
    return struct.pack("<HH", 0x7075, len(body)) + body


SJIS = "運命のワルツ"
NAME_CASES = [
    # (id, raw name, flags, extra, metadata_encoding, expected name)
    ("flagged-utf8", "日本.txt".encode(), 0x800, b"", None, "日本.txt"),
    ("flagged-not-utf8", b"\x82lan", 0x800, b"", None, "élan"),
    ("flag-beats-unicode-path", "日本".encode(), 0x800, unicode_path("x", "日本".encode()), None,
     "日本"),
    ("cp437", b"\x82lain.txt", 0, b"", None, "élain.txt"),
    ("unflagged-utf8", "日本/".encode(), 0, b"", None, "日本/"),
    ("unflagged-utf8-with-unicode-path", "日本/".encode(), 0,
     unicode_path("日本/", "日本/".encode()), None, "日本/"),
    ("unicode-path-names-cp437", b"\x8e.txt", 0, unicode_path("Ä.txt", b"\x8e.txt"), None,
     "Ä.txt"),
    ("unicode-path-names-ascii", b"_.txt", 0, unicode_path("é.txt", b"_.txt"), None, "é.txt"),
    ("stale-unicode-path", b"\x82t\x82", 0, unicode_path("old", b"x", crc_delta=1), None, "été"),
    ("unicode-path-version-2", b"abc", 0, unicode_path("zzz", b"abc", version=2), None, "abc"),
    ("unicode-path-not-utf8", b"abc", 0,
     struct.pack("<HHB", 0x7075, 7, 1) + struct.pack("<L", zlib.crc32(b"abc")) + b"\xff\xfe",
     None, "abc"),
    ("shift-jis-unasked", SJIS.encode("shift_jis"), 0, b"", None,
     SJIS.encode("shift_jis").decode("cp437")),
    ("shift-jis-asked", SJIS.encode("shift_jis"), 0, b"", "shift_jis", SJIS),
    ("gbk-asked", "中文名".encode("gbk"), 0, b"", "gbk", "中文名"),
    ("encoding-ignored-when-flagged", "日本".encode(), 0x800, b"", "shift_jis", "日本"),
    ("unicode-path-beats-encoding", b"\x8e", 0, unicode_path("Ä", b"\x8e"), "shift_jis", "Ä"),
    ("not-in-encoding-falls-back", b"\xff\xfe\x80", 0, b"", "shift_jis", "\xa0■Ç"),
    ("not-ascii-compatible-encoding", b"ab", 0, b"", "utf-16-le", "扡"),
]  # fmt: skip


def _listing(data: bytes, core: object, **kwargs: object) -> Listing:
    found = list_with(data, core, **kwargs)  # type: ignore[arg-type]
    assert isinstance(found, Listing), found
    return found


@pytest.mark.parametrize("core", IMPLEMENTATIONS)
@pytest.mark.parametrize(
    ("raw", "flags", "extra", "encoding", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in NAME_CASES],
)
def test_name_rules(
    core: object, raw: bytes, flags: int, extra: bytes, encoding: str | None, expected: str
) -> None:
    assert decode_name(raw, flags, extra=extra, encoding=encoding) == expected
    data = build([Member(b"first.txt"), Member(raw, b"x", flags, extra)])
    listing = _listing(data, core, metadata_encoding=encoding)
    entry = listing.directory.entries[1]
    assert (entry.name, entry.raw_name, entry.flag_bits, entry.extra) == (
        expected,
        raw,
        flags,
        extra,
    )
    # An entry keeps the raw bytes only when they are not exactly its ASCII name.
    plain = expected.isascii() and raw == expected.encode("ascii")
    assert entry.name_bytes == (None if plain else raw)
    assert listing.directory.entries[0].name_bytes is None


def test_metadata_encoding_is_checked_when_opening() -> None:
    data = build([Member(b"a")])
    with pytest.raises(LookupError):
        fastzips3.open_archive(MemorySource(data), metadata_encoding="no-such-encoding")
    with pytest.raises(LookupError):
        fastzips3.open_archive(MemorySource(data), metadata_encoding="rot13")


def test_metadata_encoding_through_every_opening_path(tmp_path: Path) -> None:
    raw = f"{SJIS}.txt".encode("shift_jis")
    path = tmp_path / "jis.zip"
    path.write_bytes(build([Member(raw, b"content")]))
    with fastzips3.open_archive(path, metadata_encoding="shift_jis") as archive:
        assert archive.namelist() == [f"{SJIS}.txt"]
        assert archive.read(f"{SJIS}.txt") == b"content"
    with fastzips3.open_archive(path) as archive:
        assert archive.namelist() == [raw.decode("cp437")]
    with fastzips3.open(f"{path}/{SJIS}.txt", metadata_encoding="shift_jis") as f:
        assert f.read() == b"content"
    # the process-level archive cache keeps one listing per encoding
    with fastzips3.open(f"{path}/{raw.decode('cp437')}") as f:
        assert f.read() == b"content"
    with pytest.raises(FileNotFoundError):
        fastzips3.open(f"{path}/{SJIS}.txt")


def test_cli_metadata_encoding(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "jis.zip"
    path.write_bytes(build([Member(f"{SJIS}.txt".encode("shift_jis"), b"content")]))
    assert main(["ls", "-O", "shift_jis", str(path)]) == 0
    assert f"{SJIS}.txt" in capsys.readouterr().out
    assert main(["--metadata-encoding", "shift_jis", "ls", str(path)]) == 0
    assert f"{SJIS}.txt" in capsys.readouterr().out
    assert main(["ls", "--metadata-encoding", "nope", str(path)]) == 2
    assert "unknown encoding 'nope'" in capsys.readouterr().err
    assert main(["ls", "-O", "rot13", str(path)]) == 2


class _RemoteMemorySource(MemorySource):
    """Memory standing in for an object behind the network (so listings are cached)."""

    remote = True


def test_the_directory_cache_never_serves_another_encoding(tmp_path: Path) -> None:
    raw = SJIS.encode("shift_jis")
    source = _RemoteMemorySource(build([Member(raw, b"x")]))

    def names(encoding: str | None = None) -> tuple[list[str], int]:
        options: fastzips3.OpenOptions = {"directory_cache": str(tmp_path), "cache_ttl": 3600.0}
        if encoding is not None:
            options["metadata_encoding"] = encoding
        with fastzips3.open_archive(source, **options) as archive:
            return archive.namelist(), archive.stats.requests

    assert names() == ([raw.decode("cp437")], 1)
    wait_for_writes()
    # served by the cache (no request), and decoded as asked
    assert names("shift_jis") == ([SJIS], 0)
    assert names() == ([raw.decode("cp437")], 0)


@pytest.mark.skipif(shutil.which("zip") is None, reason="Info-ZIP's zip is not installed")
def test_an_info_zip_archive_of_a_utf8_folder_lists_its_names(tmp_path: Path) -> None:
    folder = tmp_path / "日本"
    folder.mkdir()
    (folder / "ファイル.txt").write_bytes(b"hello")
    env = dict(os.environ, LC_ALL="C.UTF-8")
    subprocess.run(["zip", "-qr", "a.zip", "日本/"], cwd=tmp_path, env=env, check=True, timeout=60)
    with fastzips3.open_archive(tmp_path / "a.zip") as archive:
        assert archive.namelist() == ["日本/", "日本/ファイル.txt"]
        assert archive.read("日本/ファイル.txt") == b"hello"


def test_utf8_names_unflagged_with_unicode_path_fields_list_as_written() -> None:
    """What Info-ZIP's zip writes on Linux: UTF-8 names, no bit 11, 0x7075 fields."""
    members = [
        Member(name.encode(), content, 0, unicode_path(name, name.encode()))
        for name, content in (("日本/", b""), ("日本/a.txt", b"a"), ("日本/b c.txt", b"bc"))
    ]
    with fastzips3.open_archive(MemorySource(build(members))) as archive:
        assert archive.namelist() == ["日本/", "日本/a.txt", "日本/b c.txt"]
        assert archive.read("日本/b c.txt") == b"bc"


# --- duplicate names --------------------------------------------------------------------------


def _duplicates() -> bytes:
    return build([Member(b"a", b"first"), Member(b"b", b"other"), Member(b"a", b"second")])


def test_duplicate_names_all_listed_lookups_get_the_last(tmp_path: Path) -> None:
    with fastzips3.open_archive(MemorySource(_duplicates())) as archive:
        assert archive.namelist() == ["a", "b", "a"]
        entries = archive.entries()
        assert archive.getinfo("a") is entries[2]
        assert "a" in archive
        assert archive.read("a") == b"second"
        with archive.open("a") as f:
            assert f.read() == b"second"
        assert archive.read(archive.entries()[0]) == b"first"
        with pytest.raises(UnsafePathError, match="duplicate"):
            fastzips3.extract_members(archive, tmp_path / "out")
    assert not (tmp_path / "out" / "a").exists()
    # zipfile does the same for lookups
    with zipfile.ZipFile(io.BytesIO(_duplicates())) as zf:
        assert zf.read("a") == b"second"


# --- the compiled core's own guards -----------------------------------------------------------

needs_core = pytest.mark.skipif(CORE is None, reason="the compiled core is off or not built")


@needs_core
def test_the_core_refuses_bounds_outside_the_buffer_and_odd_entry_types() -> None:
    assert CORE is not None
    data = build([Member(b"a")])
    common = {
        "offset": 0,
        "base_offset": 0,
        "declared": 1,
        "limit": None,
        "encoding": None,
        "ascii_ok": True,
        "cd_start": 0,
    }
    with pytest.raises(ValueError, match="not inside"):
        CORE.directory_entries(data, 0, len(data) + 1, entry_type=ZipEntry, **common)
    with pytest.raises(ValueError, match="not inside"):
        CORE.directory_entries(data, -1, 10, entry_type=ZipEntry, **common)
    with pytest.raises(TypeError):
        CORE.directory_entries(data, 0, 10, entry_type=tuple, **common)
    assert CORE.zip64_locator(data, len(data) - 5) is None
    assert CORE.zip64_end(data, -3) is None
    assert CORE.eocd_candidates(b"PK\x05\x06", 0) == []


@pytest.mark.parametrize("core", IMPLEMENTATIONS)
@pytest.mark.parametrize("huge", [2**63 + 1, 2**64 - 5, 2**64 - 2])
def test_zip64_header_offsets_past_2_63_stay_exact(core: object, huge: int) -> None:
    """A ZIP64 offset near 2**64 (damage, or a lie) plus prepended data: Python integers
    (2**64 - 2 plus 4 bytes of junk is past 2**64, which 64 bits would wrap)."""
    zip64 = struct.pack("<HHQ", 0x0001, 8, huge)
    data = b"junk" + build([Member(b"a", b"x", 0, zip64)], offset_override=0xFFFFFFFF)
    listing = _listing(data, core)
    entry = listing.directory.entries[0]
    assert entry.header_offset == huge + 4
    assert listing.directory.header_offsets == ()


@pytest.mark.parametrize("core", IMPLEMENTATIONS)
def test_a_short_zip64_field_is_a_zip64_error(core: object) -> None:
    zip64 = struct.pack("<HHL", 0x0001, 4, 7)
    data = build([Member(b"a", b"x", 0, zip64)], offset_override=0xFFFFFFFF)
    found = list_with(data, core)  # type: ignore[arg-type]
    assert not isinstance(found, Listing)
    assert found.kind is fastzips3.errors.Zip64Error
    assert found.record == "ZIP64 extra field"


@needs_core
def test_the_core_leaves_the_collector_as_it_found_it() -> None:
    many = build([Member(f"f{i}".encode()) for i in range(1200)])
    damaged = bytearray(many)
    damaged[many.rindex(b"PK\x01\x02")] = 0
    assert gc.isenabled()
    assert isinstance(_listing(many, CORE).directory.entries[0], ZipEntry)
    assert gc.isenabled()
    found = list_with(bytes(damaged), CORE)
    assert not isinstance(found, Listing) and found.kind is CentralDirectoryError
    assert gc.isenabled()
    gc.disable()
    try:
        _listing(many, CORE)
        assert not gc.isenabled()
    finally:
        gc.enable()


@needs_core
def test_compiled_entries_are_plain_zip_entries() -> None:
    data = build([Member(b"a", b"x"), Member(b"b/", b"")])
    pure = _listing(data, None).directory.entries
    compiled = _listing(data, CORE).directory.entries
    assert compiled == pure
    for position, entry in enumerate(compiled):
        assert type(entry) is ZipEntry
        assert entry._asdict() == pure[position]._asdict()
        assert sys.getrefcount(entry) >= 2
    assert compiled[1].is_dir() and not compiled[0].is_dir()


def _zipinfo_fields(info: zipfile.ZipInfo) -> dict[str, object]:
    """Every slot a listing fills (the lazily read raw fields left out)."""
    names = (
        "orig_filename", "filename", "date_time", "compress_type", "_compresslevel", "comment",
        "extra", "create_system", "flag_bits", "external_attr", "header_offset", "CRC",
        "compress_size", "file_size", "_fz_index", "_fz_raw",
    )  # fmt: skip
    return {name: getattr(info, name) for name in names}


@needs_core
@pytest.mark.parametrize("encoding", [None, "cp437", "shift_jis"])
def test_compiled_zipinfos_match_the_python_loop(encoding: str | None) -> None:
    from fastzips3._zipfile import ZipInfo, _fill_infos

    assert CORE is not None
    members = [
        Member(b"a.txt", b"x"),
        Member(b"dir/", b""),
        Member(b"nul\x00cut.txt", b"y"),
        Member("日本/語.txt".encode(), b"z", flags=0x800),
        Member("ｶﾀｶﾅ.txt".encode("shift_jis"), b"w"),
        Member(b"a.txt", b"dup", extra=struct.pack("<HH4s", 0xCAFE, 4, b"abcd")),
    ]
    entries = _listing(build(members), CORE).directory.entries
    raw = object()
    expected: list[ZipInfo] = []
    _fill_infos(entries, raw, encoding, expected.append)  # type: ignore[arg-type]
    built = CORE.build_zipinfos(entries, ZipInfo, raw, encoding, None)
    assert type(built) is list and len(built) == len(expected)
    for got, want in zip(built, expected, strict=True):
        assert type(got) is ZipInfo and gc.is_tracked(got)
        assert _zipinfo_fields(got) == _zipinfo_fields(want)
        assert got.filename == want.filename and "\x00" not in got.filename
    assert built[2].filename == "nul" and built[2].orig_filename == "nul\x00cut.txt"
    windows = CORE.build_zipinfos(entries[:1], ZipInfo, raw, None, ".")
    assert windows[0].filename == "a/txt" and windows[0].orig_filename == "a.txt"


@needs_core
def test_compiled_zipinfos_refuse_classes_without_the_slots() -> None:
    from fastzips3._zipfile import ZipInfo

    assert CORE is not None
    entries = _listing(build([Member(b"a", b"x")]), CORE).directory.entries

    class Shadowed(ZipInfo):
        __slots__ = ()

        @property
        def CRC(self) -> int:  # type: ignore[override]  # noqa: N802 - zipfile's name
            return 0

    class Plain:
        pass

    with pytest.raises(TypeError, match="not a slot"):
        CORE.build_zipinfos(entries, Shadowed, None, None, None)
    with pytest.raises(TypeError, match="not a slot"):
        CORE.build_zipinfos(entries, zipfile.ZipInfo, None, None, None)  # no _fz_index
    with pytest.raises(TypeError):
        CORE.build_zipinfos(entries, Plain, None, None, None)
    with pytest.raises(TypeError, match="not a ZipEntry"):
        CORE.build_zipinfos([("a", 1)], ZipInfo, None, None, None)
    assert gc.isenabled()


@pytest.mark.parametrize("core", IMPLEMENTATIONS)
def test_fed_bytes_through_the_end_become_the_window_uncopied(core: object) -> None:
    from fastzips3._format.plan import ByteRange, Directory, DirectoryPlan

    data = build([Member(f"f{i}".encode(), b"x") for i in range(300)])
    plan = DirectoryPlan(len(data), core=core)  # type: ignore[arg-type]
    plan.feed(len(data) - 100, data[-100:])
    step = plan.step()
    assert isinstance(step, ByteRange) and step.end == len(data) - 100
    whole = data[step.start :]
    plan.feed(step.start, whole)
    assert plan.held(step.start) is whole
    listed = plan.step()
    assert isinstance(listed, Directory) and len(listed.entries) == 300


def test_a_local_directory_past_the_tail_is_one_more_read(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    path.write_bytes(build([Member(f"dir/{i:05d}".encode(), b"%d" % i) for i in range(3000)]))
    with fastzips3.open_archive(path, tail_size=4096) as archive:
        assert len(archive.entries()) == 3000
        assert archive.stats.requests == 2
        assert archive.read("dir/02999") == b"2999"


@needs_core
def test_equal_extra_fields_of_neighbours_are_one_object() -> None:
    stamp = struct.pack("<HHBL", 0x5455, 5, 1, 1_700_000_000)
    other = struct.pack("<HHBL", 0x5455, 5, 1, 1_700_000_001)
    extras = [stamp, stamp, other, stamp, b"", stamp]
    data = build([Member(f"m{i}".encode(), b"x", extra=e) for i, e in enumerate(extras)])
    compiled = _listing(data, CORE).directory.entries
    assert [e.extra for e in compiled] == extras
    assert compiled == _listing(data, None).directory.entries
    assert compiled[0].extra is compiled[1].extra
    assert compiled[2].extra is not compiled[1].extra


@needs_core
def test_a_stored_member_has_one_int_for_both_sizes() -> None:
    data = build([Member(b"big", bytes(1000)), Member(b"small", b"x")])
    big, small = _listing(data, CORE).directory.entries
    assert big.file_size == big.compress_size == 1000
    assert big.file_size is big.compress_size
    assert small.file_size == small.compress_size == 1
