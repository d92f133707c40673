"""The corpus's ``generated_cases``: hostile archives its origins build in code, built here."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

import fastzips3
from fastzips3 import errors
from tests.helpers.rawzip import RawMember, build_zip
from tests.helpers.sources import RecordingSource
from tests.helpers.zips import make_zip


def _open(data: bytes) -> fastzips3.ZipArchive:
    return fastzips3.open_archive(fastzips3.MemorySource(data))


def _cd_positions(data: bytes) -> list[int]:
    out, pos = [], data.find(b"PK\x01\x02")
    while pos >= 0:
        out.append(pos)
        pos = data.find(b"PK\x01\x02", pos + 4)
    return out


def test_go_invalid_files_zeros_and_repeated_end_signatures() -> None:
    """Go TestInvalidFiles: 70 KiB of zeros, 70 KiB of EOCD signatures: not a ZIP, no loop."""
    for data in (bytes(70 << 10), b"PK\x05\x06" * (70 << 8)):
        rec = RecordingSource(fastzips3.MemorySource(data))
        with pytest.raises(errors.EOCDNotFoundError):
            fastzips3.open_archive(rec)
        assert rec.requests <= 2
        assert all(0 <= c.start <= c.end <= len(data) for c in rec.calls if c.start >= 0)


def test_go_12449_locator_signature_in_data_is_not_zip64() -> None:
    data = make_zip([("a.bin", b"x" * 50 + b"PK\x06\x07" + b"y" * 16, "stored")])
    with _open(data) as archive:
        assert not archive.is_zip64
        assert archive.read("a.bin").count(b"PK\x06\x07") == 1


def test_go_cve_2021_33196_claimed_2_64_entries() -> None:
    """A ZIP64 end record claiming 2^64-1 entries: an error, nothing sized from the claim."""
    body = make_zip([("f", b"1", "stored")])
    eocd = body.rfind(b"PK\x05\x06")
    _, _, _, _, _, cd_size, cd_offset, _ = struct.unpack_from("<4s4H2LH", body, eocd)
    huge = (1 << 64) - 1
    eocd64 = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, huge, huge, cd_size, cd_offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, eocd, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, cd_size, cd_offset, 0)
    data = body[:eocd] + eocd64 + locator + end
    with pytest.raises(errors.CentralDirectoryError, match="can hold at most"):
        _open(data)


def test_go_cve_2021_39293_directory_size_underflow() -> None:
    body = make_zip([("f", b"1", "stored")])
    eocd = body.rfind(b"PK\x05\x06")
    data = bytearray(body)
    struct.pack_into("<L", data, eocd + 12, 0xFFFFFF00)  # directory size far past the file
    with pytest.raises(errors.CentralDirectoryError):
        _open(bytes(data))


def test_go_undersize_every_member_declared_one_byte() -> None:
    data = bytearray(make_zip([("a", b"hello world", "deflate"), ("b", b"bye bye", "stored")]))
    for pos in _cd_positions(bytes(data)):
        struct.pack_into("<L", data, pos + 24, 1)
    with _open(bytes(data)) as archive:
        for name in ("a", "b"):
            with pytest.raises(errors.SizeMismatchError):
                archive.read(name)


def test_go_directory_entries_carrying_data_are_refused() -> None:
    data = make_zip([("dir/", b"not empty", "stored")])
    with _open(data) as archive:
        with pytest.raises(errors.FormatError, match="directory"):
            archive.read("dir/")


def test_go_compressed_empty_directory_reads() -> None:
    """TestCompressedDirectory: META-INF/ deflated to 2 bytes, 0 bytes long."""
    data = build_zip(
        [RawMember("META-INF/", b"", 8), RawMember("META-INF/MANIFEST.MF", b"Manifest: 1\n", 8)]
    )
    with _open(data) as archive:
        assert archive.getinfo("META-INF/").compress_size == 2
        assert archive.read("META-INF/") == b""
        assert archive.read("META-INF/MANIFEST.MF") == b"Manifest: 1\n"


def test_go_32bit_max_size_without_zip64_extra_is_the_real_size() -> None:
    data = bytearray(make_zip([("big.file", b"", "stored")]))
    (pos,) = _cd_positions(bytes(data))
    struct.pack_into("<L", data, pos + 24, 0xFFFFFFFF)
    with _open(bytes(data)) as archive:
        assert archive.getinfo("big.file").file_size == 0xFFFFFFFF


def test_go_deep_directory_names_list_in_linear_time(tmp_path: Path) -> None:
    """CVE-2025-61728: 4,000 entries 'a/'*i + 'data' must not make indexing super-linear."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(4000):
            zf.writestr("a/" * i + "data", b"")
    path = tmp_path / "deep.zip"
    path.write_bytes(buf.getvalue())
    fastzips3.clear_archive_cache()
    assert fastzips3.listdir(path) == ["data", "a/"]
    assert fastzips3.stat(f"{path}/" + "a/" * 3999 + "data").size == 0
    fastzips3.clear_archive_cache()


def test_cpython_full_overlap_and_name_mismatch() -> None:
    """Two directory entries 'a' and 'b' point at one local header 'a'."""
    content = b"x" * 1033
    single = build_zip([RawMember("a", content, 8)])
    (pos,) = _cd_positions(single)
    nlen = struct.unpack_from("<H", single, pos + 28)[0]
    entry_a = single[pos : pos + 46 + nlen]
    entry_b = entry_a[:46] + b"b"
    cd = entry_a + entry_b
    eocd = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 2, 2, len(cd), pos, 0)
    data = single[:pos] + cd + eocd
    with _open(data) as archive:
        assert archive.read("a") == content
        with pytest.raises(errors.LocalHeaderError, match="share one header"):
            archive.read("b")


def test_cpython_quoted_overlap_is_detected() -> None:
    """CVE-2024-0450: entry a's data runs over entry b's local header."""
    data = bytearray(make_zip([("a", b"A" * 100, "stored"), ("b", b"B" * 100, "stored")]))
    (pos_a, _) = _cd_positions(bytes(data))
    struct.pack_into("<LL", data, pos_a + 20, 200, 200)  # a claims 200 bytes: into b
    with _open(bytes(data)) as archive:
        with pytest.raises(errors.OverlapError):
            archive.read("a")
        assert archive.read("b") == b"B" * 100


def test_cpython_truncated_while_open(tmp_path: Path) -> None:
    path = tmp_path / "t.zip"
    path.write_bytes(make_zip([("m", b"q" * 300_000, "stored")]))
    with fastzips3.open_archive(path, tail_size=1024) as archive:
        size = path.stat().st_size
        with path.open("r+b") as f:
            f.truncate(size - 100_000)
        with pytest.raises(errors.FastZipS3Error):
            archive.read("m")


def test_cpython_bad_zip64_extra_missing_fields() -> None:
    data = bytearray(make_zip([("a", b"1", "stored")]))
    (pos,) = _cd_positions(bytes(data))
    struct.pack_into("<LL", data, pos + 20, 0xFFFFFFFF, 0xFFFFFFFF)  # sentinels, no extra
    nlen = struct.unpack_from("<H", data, pos + 28)[0]
    extra = struct.pack("<HHQ", 1, 8, 1)  # only one of the two 8-byte fields
    data = data[: pos + 46 + nlen] + extra + data[pos + 46 + nlen :]
    struct.pack_into("<H", data, pos + 30, len(extra))
    eocd = bytes(data).rfind(b"PK\x05\x06")
    cd_size = struct.unpack_from("<L", data, eocd + 12)[0]
    struct.pack_into("<L", data, eocd + 12, cd_size + len(extra))
    with pytest.raises(errors.Zip64Error):
        _open(bytes(data))


def test_cpython_negative_directory_offset() -> None:
    data = b"garbage!" * 3 + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, 46, 100, 0)
    with pytest.raises(errors.FormatError):
        _open(data)


def test_zip2_invalid_crc32() -> None:
    data = bytearray(make_zip([("test.txt", bytes(16), "stored")]))
    data[14:18] = b"\x01\x02\x03\x04"
    (pos,) = _cd_positions(bytes(data))
    data[pos + 16 : pos + 20] = b"\x05\x06\x07\x08"
    with _open(bytes(data)) as archive:
        with pytest.raises(errors.CRCMismatchError) as info:
            archive.read("test.txt")
        assert info.value.actual == zlib.crc32(bytes(16))
        assert archive.open("test.txt", verify=False).read() == bytes(16)
