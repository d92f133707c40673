"""fastzips3.ZipFile against zipfile.ZipFile: the same archives, the same documented behaviour.

Every behaviour test runs against both classes (the ``zf_class`` fixture), so a test that
passes for ``zipfile.ZipFile`` and fails for ``fastzips3.ZipFile`` is a compatibility bug.
Archives are seeded; ZipInfo objects are compared field by field.
"""

from __future__ import annotations

import copy
import gc
import io
import os
import pickle
import random
import struct
import warnings
import weakref
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import fastzips3
from fastzips3 import errors
from tests.corpus.conftest import require_corpus
from tests.helpers.zips import METHODS, make_zip, seeded_members, text_bytes

ZipClass = Callable[..., Any]
FIELDS = [name for name in zipfile.ZipInfo.__slots__]
CLASSES = {"zipfile": zipfile.ZipFile, "fastzips3": fastzips3.ZipFile}


@pytest.fixture(params=sorted(CLASSES))
def zf_class(request: pytest.FixtureRequest) -> ZipClass:
    """zipfile.ZipFile, then fastzips3.ZipFile."""
    return CLASSES[request.param]


class _Unseekable(io.RawIOBase):
    """A write-only stream without seek: zipfile then writes data descriptors (flag bit 3)."""

    def __init__(self) -> None:
        super().__init__()
        self.buf = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.buf += data
        return len(data)


def _with_dirs_and_comments(seed: int) -> bytes:
    rng = random.Random(seed)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("top/", (2023, 5, 6, 7, 8, 10)), b"")
        info = zipfile.ZipInfo("top/note.txt", (2022, 12, 31, 23, 59, 58))
        info.comment = b"a member comment"
        info.external_attr = 0o100640 << 16
        zf.writestr(info, text_bytes(rng, 5000), compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("top/sub/deep.bin", rng.randbytes(777), compress_type=zipfile.ZIP_LZMA)
        zf.writestr("caf\u00e9/\u65e5\u672c.txt", b"utf-8 names get flag 0x800")
        zf.comment = b"the archive comment"
    return buf.getvalue()


def _with_duplicates(seed: int) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns "Duplicate name"
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("dup.txt", b"first")
            zf.writestr("other.txt", b"other", compress_type=zipfile.ZIP_BZIP2)
            zf.writestr("dup.txt", b"second, the one lookups find")
    return buf.getvalue()


def _with_data_descriptors(seed: int) -> bytes:
    out = _Unseekable()
    with zipfile.ZipFile(out, "w") as zf:
        for name, data, method in seeded_members(seed, 6, 3000):
            info = zipfile.ZipInfo(name, (2021, 1, 1, 0, 0, 0))
            info.compress_type = METHODS[method]
            with zf.open(info, "w") as f:
                f.write(data)
    return bytes(out.buf)


def _with_deflate_descriptors(seed: int) -> bytes:
    out = _Unseekable()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data, _ in seeded_members(seed, 5, 5000):
            with zf.open(name, "w") as f:
                f.write(data)
    return bytes(out.buf)


ARCHIVES: dict[str, Callable[[int], bytes]] = {
    "methods": lambda seed: make_zip(seeded_members(seed, 24, 20_000), comment=b"seeded"),
    "zip64": lambda seed: make_zip(seeded_members(seed, 8, 4000), force_zip64=True),
    "prefixed": lambda seed: make_zip(seeded_members(seed, 5, 2000), prefix=b"#!stub\n" * 9),
    "dirs-comments": _with_dirs_and_comments,
    "duplicates": _with_duplicates,
    "data-descriptors": _with_data_descriptors,
    "deflate-descriptors": _with_deflate_descriptors,
}


@pytest.fixture(params=sorted(ARCHIVES))
def archive_bytes(request: pytest.FixtureRequest) -> bytes:
    """Each kind of seeded archive."""
    return ARCHIVES[request.param](11)


def _fields(info: zipfile.ZipInfo) -> dict[str, Any]:
    return {name: getattr(info, name) for name in FIELDS} | {"is_dir": info.is_dir()}


def _write(tmp_path: Path, data: bytes, name: str = "a.zip") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- listing: field by field ------------------------------------------------------------------


def test_infolist_fields_match_zipfile(archive_bytes: bytes) -> None:
    with (
        zipfile.ZipFile(io.BytesIO(archive_bytes)) as ref,
        fastzips3.ZipFile(io.BytesIO(archive_bytes)) as ours,
    ):
        expected = [_fields(i) for i in ref.infolist()]
        infos = ours.infolist()
        assert all(isinstance(i, zipfile.ZipInfo) for i in infos)
        assert [_fields(i) for i in infos] == expected
        assert [repr(i) for i in infos] == [repr(i) for i in ref.infolist()]
        assert ours.namelist() == ref.namelist()
        assert ours.comment == ref.comment
        for name in ref.namelist():
            assert _fields(ours.getinfo(name)) == _fields(ref.getinfo(name))
        assert ours.filelist is ours.infolist()
        assert {k: _fields(v) for k, v in ours.NameToInfo.items()} == {
            k: _fields(v) for k, v in ref.NameToInfo.items()
        }


def test_content_matches_zipfile(archive_bytes: bytes) -> None:
    with (
        zipfile.ZipFile(io.BytesIO(archive_bytes)) as ref,
        fastzips3.ZipFile(io.BytesIO(archive_bytes)) as ours,
    ):
        for ref_info, info in zip(ref.infolist(), ours.infolist(), strict=True):
            assert ours.read(info) == ref.read(ref_info)
            assert ours.read(info.filename) == ref.read(ref_info.filename)
        assert ours.testzip() is None


@pytest.mark.parametrize("kind", ["str", "path", "fileobj", "file"])
def test_every_kind_of_target_opens(zf_class: ZipClass, tmp_path: Path, kind: str) -> None:
    data = ARCHIVES["methods"](3)
    path = _write(tmp_path, data)
    handle = None
    if kind == "str":
        target: Any = str(path)
    elif kind == "path":
        target = path
    elif kind == "fileobj":
        target = io.BytesIO(data)
    else:
        target = handle = path.open("rb")
    try:
        with zf_class(target) as zf:
            names = zf.namelist()
            assert zf.read(names[-1]) == zipfile.ZipFile(io.BytesIO(data)).read(names[-1])
            expected_name = {"str": str(path), "path": str(path), "file": str(path)}.get(kind)
            assert zf.filename == expected_name
        if handle is not None:
            assert not handle.closed  # a file object stays the caller's
    finally:
        if handle is not None:
            handle.close()


def test_a_fastzips3_source_opens() -> None:
    data = ARCHIVES["methods"](4)
    with fastzips3.ZipFile(fastzips3.MemorySource(data, url="memory://m.zip")) as zf:
        assert zf.filename == "memory://m.zip"
        assert zf.namelist() == zipfile.ZipFile(io.BytesIO(data)).namelist()


def test_raw_directory_fields_fill_on_first_use_and_survive_copies() -> None:
    data = _with_dirs_and_comments(5)
    with (
        zipfile.ZipFile(io.BytesIO(data)) as ref,
        fastzips3.ZipFile(io.BytesIO(data)) as ours,
    ):
        infos = ours.infolist()
        raw = ("create_version", "extract_version", "reserved", "volume", "internal_attr")
        assert [[getattr(i, f) for f in raw] for i in infos] == [
            [getattr(i, f) for f in raw] for i in ref.infolist()
        ]
        assert [i._raw_time for i in infos] == [i._raw_time for i in ref.infolist()]  # type: ignore[attr-defined]
        clone = copy.copy(infos[1])
        assert _fields(clone) == _fields(ref.infolist()[1])
        revived = pickle.loads(pickle.dumps(infos[1]))
        assert _fields(revived) == _fields(ref.infolist()[1])
        assert ours.read(clone) == ref.read(ref.infolist()[1])  # an info copied from ours


def test_raw_fields_assigned_before_first_use_are_kept() -> None:
    data = _with_dirs_and_comments(6)
    with (
        zipfile.ZipFile(io.BytesIO(data)) as ref,
        fastzips3.ZipFile(io.BytesIO(data)) as ours,
    ):
        first, second = ours.infolist()[:2]
        first.extract_version = 63
        second.volume = 7
        assert first.reserved == ref.infolist()[0].reserved  # fills the rest
        assert (first.extract_version, first.volume) == (63, ref.infolist()[0].volume)
        assert (second.volume, second.extract_version) == (7, ref.infolist()[1].extract_version)


def test_a_listed_zipfile_is_freed_without_the_garbage_collector() -> None:
    """Infos refer to their ZipFile weakly: a listing is no reference cycle to collect."""
    gc.disable()
    try:
        zf = fastzips3.ZipFile(io.BytesIO(_with_dirs_and_comments(2)))
        infos = zf.infolist()
        assert infos[0].volume == 0
        zf.close()
        ref = weakref.ref(zf)
        del zf
        assert ref() is None
        assert infos[1].filename == "top/note.txt"
    finally:
        gc.enable()


def test_raw_fields_after_close_say_why() -> None:
    zf = fastzips3.ZipFile(io.BytesIO(_with_duplicates(1)))
    info = zf.infolist()[0]
    zf.close()
    assert info.filename == "dup.txt"  # listed fields stay
    with pytest.raises(ValueError, match="read one of them before closing"):
        _ = info.volume


def test_a_zipinfo_from_zipfile_opens_the_same_member() -> None:
    data = _with_duplicates(2)
    with (
        zipfile.ZipFile(io.BytesIO(data)) as ref,
        fastzips3.ZipFile(io.BytesIO(data)) as ours,
    ):
        for info in ref.infolist():
            assert ours.read(info) == ref.read(info)


def test_duplicates_list_all_and_look_up_the_last(zf_class: ZipClass) -> None:
    with zf_class(io.BytesIO(_with_duplicates(4))) as zf:
        assert zf.namelist() == ["dup.txt", "other.txt", "dup.txt"]
        assert zf.read("dup.txt") == b"second, the one lookups find"
        assert zf.getinfo("dup.txt") is zf.infolist()[2]
        assert zf.read(zf.infolist()[0]) == b"first"


# --- errors -------------------------------------------------------------------------------


def test_missing_member_is_a_key_error(zf_class: ZipClass) -> None:
    with zf_class(io.BytesIO(ARCHIVES["methods"](1))) as zf:
        for call in (zf.getinfo, zf.read, zf.open, zf.extract):
            with pytest.raises(KeyError, match="There is no item named 'nope' in the archive"):
                call("nope")
    with fastzips3.ZipFile(io.BytesIO(ARCHIVES["methods"](1))) as zf:
        with pytest.raises(errors.MemberNotFoundError):
            zf.getinfo("nope")


@pytest.mark.parametrize(
    "data",
    [b"", b"not a zip at all" * 10, ARCHIVES["methods"](1)[:-30]],
    ids=["empty", "text", "cut"],
)
def test_bad_archive_is_bad_zip_file(zf_class: ZipClass, data: bytes) -> None:
    with pytest.raises(zipfile.BadZipFile):
        zf_class(io.BytesIO(data))
    if zf_class is fastzips3.ZipFile:
        with pytest.raises(errors.FormatError):
            zf_class(io.BytesIO(data))


def test_missing_file_is_file_not_found(zf_class: ZipClass, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        zf_class(tmp_path / "missing.zip")


def test_modes(zf_class: ZipClass, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="ZipFile requires mode"):
        zf_class(io.BytesIO(), "q")
    if zf_class is fastzips3.ZipFile:
        for mode in ("w", "x", "a"):
            with pytest.raises(errors.UnsupportedError, match="only reads"):
                zf_class(tmp_path / "new.zip", mode)
    with zf_class(io.BytesIO(ARCHIVES["methods"](1))) as zf:
        name = zf.namelist()[0]
        with pytest.raises(ValueError, match='open\\(\\) requires mode "r" or "w"'):
            zf.open(name, "rb")
        with pytest.raises(ValueError, match="pwd is only supported for reading files"):
            zf.open(name, "w", pwd=b"x")
        with pytest.raises(TypeError, match="pwd: expected bytes, got str"):
            zf.setpassword("text")
        writes: list[Callable[[], object]] = [
            lambda: zf.open("new.bin", "w"),
            lambda: zf.writestr("new.txt", b"x"),
            lambda: zf.write(__file__),
            lambda: zf.mkdir("new/"),
        ]
        for call in writes:
            with pytest.raises(ValueError, match="write\\(\\) requires mode 'w', 'x', or 'a'"):
                call()


def test_closed_archive_refuses_reads_but_keeps_its_listing(zf_class: ZipClass) -> None:
    zf = zf_class(io.BytesIO(ARCHIVES["methods"](1)))
    names = zf.namelist()
    with zf:
        pass
    assert "closed" in repr(zf)
    assert zf.namelist() == names
    assert zf.getinfo(names[0]).filename == names[0]
    for call in (zf.read, zf.open):
        with pytest.raises(ValueError, match="Attempt to use ZIP archive that was already closed"):
            call(names[0])
    zf.close()  # twice is fine


def test_a_member_opened_before_close_stays_readable(zf_class: ZipClass, tmp_path: Path) -> None:
    content = text_bytes(random.Random(12), 200_000)
    path = _write(tmp_path, make_zip([("m.csv", content, "deflate"), ("s", b"s", "stored")]))
    with zf_class(path) as zf:
        f = zf.open("m.csv")
        g = zf.open("s")
        g.close()
    with pytest.raises(ValueError, match="already closed"):
        zf.open("s")
    assert f.read(10) == content[:10]
    f.seek(150_000)
    assert f.read() == content[150_000:]
    f.close()
    if zf_class is fastzips3.ZipFile:
        archive = zf.archive
        assert not archive.closed
        del f
        gc.collect()
        assert archive.closed  # released with the last member file


def test_testzip_names_the_first_bad_member(zf_class: ZipClass) -> None:
    members = [
        ("ok.txt", b"fine" * 100, "deflate"),
        ("bad.bin", b"0123456789" * 50, "stored"),
        ("later.bin", b"also bad" * 10, "stored"),
    ]
    data = bytearray(make_zip(members))
    ref = zipfile.ZipFile(io.BytesIO(bytes(data)))
    for name in ("bad.bin", "later.bin"):
        info = ref.getinfo(name)
        (name_len, extra_len) = struct.unpack_from("<HH", data, info.header_offset + 26)
        data[info.header_offset + 30 + name_len + extra_len + 5] ^= 0xFF
    with zf_class(io.BytesIO(bytes(data))) as zf:
        assert zf.testzip() == "bad.bin"
        with pytest.raises(zipfile.BadZipFile):
            zf.read("bad.bin")
        assert zf.read("ok.txt") == b"fine" * 100


# --- reading --------------------------------------------------------------------------------


def test_open_gives_a_seekable_binary_file(zf_class: ZipClass) -> None:
    content = text_bytes(random.Random(8), 300_000)
    data = make_zip([("big.csv", content, "deflate"), ("raw.bin", content, "stored")])
    with zf_class(io.BytesIO(data)) as zf:
        for name in ("big.csv", "raw.bin"):
            with zf.open(name) as f:
                assert f.readable() and f.seekable()
                assert f.read(10) == content[:10]
                f.seek(200_000)
                assert f.tell() == 200_000
                assert f.read(1000) == content[200_000:201_000]
                f.seek(-100, io.SEEK_END)
                assert f.read() == content[-100:]
                f.seek(0)
                assert f.readline() == content.split(b"\n")[0] + b"\n"
            with zf.open(zf.getinfo(name), "r") as f:
                assert f.read() == content


def test_members_wrap_in_text_io_as_with_zipfile(zf_class: ZipClass) -> None:
    content = text_bytes(random.Random(9), 50_000)
    data = make_zip([("t.csv", content, "deflate")])
    with zf_class(io.BytesIO(data)) as zf, zf.open("t.csv") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        lines = list(text)
        assert "".join(lines) == content.decode()
        text.seek(0)
        assert text.readline() == lines[0]


def test_printdir_prints_the_same_table(archive_bytes: bytes) -> None:
    outputs = []
    for cls in CLASSES.values():
        out = io.StringIO()
        with cls(io.BytesIO(archive_bytes)) as zf:
            zf.printdir(file=out)
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1]


def test_repr_and_context_manager(tmp_path: Path) -> None:
    path = _write(tmp_path, ARCHIVES["methods"](1))
    with fastzips3.ZipFile(path) as zf:
        assert repr(zf) == f"<fastzips3.ZipFile filename={str(path)!r} mode='r'>"
    assert repr(zf) == "<fastzips3.ZipFile [closed]>"


def test_metadata_encoding_decodes_names_as_zipfile_does(zf_class: ZipClass) -> None:
    name = "\u65e5\u672c\u8a9e.txt"
    encoded = name.encode("shift_jis")
    placeholder = b"N" * (len(encoded) - 4) + b".txt"
    data = make_zip([(placeholder.decode(), b"sjis", "stored")]).replace(placeholder, encoded)
    with zf_class(io.BytesIO(data), metadata_encoding="shift_jis") as zf:
        assert zf.namelist() == [name]
        assert zf.read(name) == b"sjis"
        assert zf.getinfo(name).orig_filename == name


# --- passwords ------------------------------------------------------------------------------

ENCRYPTED = "libzip/encrypt.zip"  # ZipCrypto, password "foo"


@pytest.fixture
def encrypted_path() -> Path:
    """A ZipCrypto archive from the shared corpus."""
    return require_corpus().root / "files" / ENCRYPTED


def _encrypted_name(path: Path) -> str:
    with zipfile.ZipFile(path) as zf:
        return next(i.filename for i in zf.infolist() if i.flag_bits & 1 and not i.is_dir())


def test_encrypted_member_needs_the_password(zf_class: ZipClass, encrypted_path: Path) -> None:
    name = _encrypted_name(encrypted_path)
    with zipfile.ZipFile(encrypted_path) as ref:
        expected = ref.read(name, pwd=b"foo")
    with zf_class(encrypted_path) as zf:
        with pytest.raises(RuntimeError, match="is encrypted, password required for extraction"):
            zf.read(name)
        with pytest.raises(RuntimeError, match="is encrypted, password required"):
            zf.open(name)
        with pytest.raises(RuntimeError):
            zf.read(name, pwd=b"wrong password")
        assert zf.read(name, pwd=b"foo") == expected
        zf.setpassword(b"foo")
        assert zf.read(name) == expected
        with zf.open(name) as f:
            assert f.read() == expected
        assert zf.testzip() is None
    if zf_class is fastzips3.ZipFile:
        with fastzips3.ZipFile(encrypted_path, pwd=b"foo") as zf:
            assert zf.read(name) == expected
        with fastzips3.ZipFile(encrypted_path) as zf, pytest.raises(errors.PasswordError):
            zf.read(name)


def test_extract_encrypted_with_pwd(
    zf_class: ZipClass, encrypted_path: Path, tmp_path: Path
) -> None:
    name = _encrypted_name(encrypted_path)
    with zf_class(encrypted_path) as zf:
        with pytest.raises(RuntimeError, match="password required"):
            zf.extract(name, tmp_path / "none")
        target = zf.extract(name, tmp_path / "out", pwd=b"foo")
        assert Path(target).read_bytes() == zf.read(name, pwd=b"foo")


# --- extraction -----------------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes | None]:
    out: dict[str, bytes | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = None
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = Path(p).read_bytes()
    return out


@pytest.mark.parametrize("kind", ["methods", "dirs-comments", "data-descriptors", "zip64"])
def test_extractall_writes_the_same_tree(tmp_path: Path, kind: str) -> None:
    data = ARCHIVES[kind](21)
    trees = []
    for label, cls in CLASSES.items():
        with cls(io.BytesIO(data)) as zf:
            assert zf.extractall(tmp_path / label) is None
        trees.append(_tree(tmp_path / label))
    assert trees[0] == trees[1]
    assert trees[0]


def test_extract_returns_the_path_it_wrote(
    zf_class: ZipClass, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _with_dirs_and_comments(9)
    with zf_class(io.BytesIO(data)) as zf:
        note = zf.extract("top/note.txt", tmp_path / "x")
        assert note == os.path.join(str(tmp_path / "x"), "top", "note.txt")
        assert Path(note).read_bytes() == zf.read("top/note.txt")
        folder = zf.extract(zf.getinfo("top/"), str(tmp_path / "x"))
        assert folder == os.path.join(str(tmp_path / "x"), "top")
        assert os.path.isdir(folder)
        Path(note).write_bytes(b"replaced")
        assert Path(zf.extract("top/note.txt", tmp_path / "x")).read_bytes() != b"replaced"
        monkeypatch.chdir(tmp_path)
        here = zf.extract("top/sub/deep.bin")
        assert here == str(tmp_path / "top" / "sub" / "deep.bin")
        zf.extractall(tmp_path / "some", members=["top/sub/deep.bin", zf.getinfo("top/")])
        assert sorted(_tree(tmp_path / "some")) == ["top", "top/sub", "top/sub/deep.bin"]


def test_extract_refuses_unsafe_names(tmp_path: Path) -> None:
    data = make_zip([("../evil.txt", b"x", "stored"), ("fine.txt", b"y", "stored")])
    with fastzips3.ZipFile(io.BytesIO(data)) as zf:
        with pytest.raises(errors.UnsafePathError):
            zf.extractall(tmp_path / "out")
        with pytest.raises(errors.UnsafePathError):
            zf.extract("../evil.txt", tmp_path / "out")
        assert not (tmp_path / "evil.txt").exists()
        assert Path(zf.extract("fine.txt", tmp_path / "out")).read_bytes() == b"y"


def test_extractall_refuses_duplicate_names(tmp_path: Path) -> None:
    with fastzips3.ZipFile(io.BytesIO(_with_duplicates(3))) as zf:
        with pytest.raises(errors.UnsafePathError):
            zf.extractall(tmp_path / "out")
        assert not (tmp_path / "out" / "dup.txt").exists()


# --- extras -------------------------------------------------------------------------------


def test_options_reach_the_reader_and_stats_count_requests(tmp_path: Path) -> None:
    data = ARCHIVES["methods"](6)
    with fastzips3.ZipFile(io.BytesIO(data), tail_size=1 << 20) as zf:
        assert zf.stats.requests == 1
        assert isinstance(zf.archive, fastzips3.ZipArchive)
        zf.infolist()
        assert zf.stats.requests == 1
    with pytest.raises(TypeError, match="unknown option"):
        fastzips3.ZipFile(io.BytesIO(data), no_such_option=1)  # type: ignore[call-arg]


def test_text_or_unseekable_file_object_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="readable, seekable binary file"):
        fastzips3.ZipFile(_NotSeekable())  # type: ignore[arg-type]
    path = _write(tmp_path, ARCHIVES["methods"](1))
    with path.open(encoding="latin-1") as text, pytest.raises(errors.SourceError, match="'rb'"):
        fastzips3.ZipFile(text)  # type: ignore[arg-type]


class _NotSeekable(io.RawIOBase):
    def readable(self) -> bool:
        return True


# --- the shared corpus ----------------------------------------------------------------------

#: Archives where fastzips3 deliberately lists something else than zipfile, and why.
CORPUS_DIFFERENT = {
    # A ZIP stored inside the archive comment: zipfile takes the inner end record, fastzips3
    # the one whose comment reaches the end of the file (the real one).
    "libzip/zip-in-archive-comment.zip",
    "libzip/zip64-in-archive-comment.zip",
    # Prepended data with a wrong central directory offset: fastzips3 finds the base offset.
    "go-via-klauspost/test-badbase.zip",
}


def _corpus_archives() -> list[Path]:
    root = require_corpus().root / "files"
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_corpus_listings_match_zipfile_field_by_field() -> None:
    """Every corpus archive zipfile lists: the same ZipInfo fields from fastzips3.ZipFile.

    Names not flagged UTF-8 decode as fastzips3 does by default (Unicode path field, then
    UTF-8, then cp437); with ``metadata_encoding="cp437"`` they decode exactly as zipfile's.
    """
    root = require_corpus().root / "files"
    compared = 0
    for path in _corpus_archives():
        rel = path.relative_to(root).as_posix()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                with zipfile.ZipFile(path) as ref:
                    expected = [_fields(i) for i in ref.infolist()]
        except Exception:
            continue  # zipfile refuses it: the corpus tests say what fastzips3 does
        if rel in CORPUS_DIFFERENT or not expected:
            continue  # zipfile lists nothing where a broken count hides the entries
        try:
            ours = fastzips3.ZipFile(path)
        except (errors.FormatError, errors.UnsupportedError):
            continue  # stricter than zipfile (ambiguous end records, spanned, lying counts)
        with ours:
            got = [_fields(i) for i in ours.infolist()]
        with fastzips3.ZipFile(path, metadata_encoding="cp437") as ours:
            as_zipfile = [_fields(i) for i in ours.infolist()]
        assert as_zipfile == expected, rel
        assert len(got) == len(expected), rel
        for mine, theirs in zip(got, expected, strict=True):
            if mine["filename"] != theirs["filename"]:
                assert not theirs["flag_bits"] & 0x800, rel
                mine = mine | {
                    "filename": theirs["filename"],
                    "orig_filename": theirs["orig_filename"],
                }
            assert mine == theirs, rel
        compared += 1
    assert compared > 250
