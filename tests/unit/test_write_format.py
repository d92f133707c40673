"""Record serialization (fastzips3._format.write): round trips through zipfile and fastzips3."""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastzips3
from fastzips3._format.write import (
    FLAG_DATA_DESCRIPTOR,
    FLAG_UTF8,
    METHOD_DEFLATE,
    METHOD_STORED,
    MemberRecord,
    central_header,
    data_descriptor,
    dos_datetime,
    encode_name,
    end_records,
    local_header,
    local_header_size,
)

DT = (2024, 5, 6, 7, 8, 10)


def assemble(
    members: list[tuple[str, bytes, int, bool, bool]], *, force_zip64_end: bool = False
) -> bytes:
    """(name, data, method, descriptor, zip64 header) -> a whole archive."""
    out = bytearray()
    records = []
    for name, data, method, descriptor, zip64 in members:
        raw, flags = encode_name(name)
        if descriptor:
            flags |= FLAG_DATA_DESCRIPTOR
        crc = zlib.crc32(data)
        if method == METHOD_DEFLATE:
            c = zlib.compressobj(6, zlib.DEFLATED, -15)
            payload = c.compress(data) + c.flush()
        else:
            payload = data
        offset = len(out)
        header = local_header(
            raw,
            flags=flags,
            method=method,
            date_time=DT,
            crc=crc,
            compress_size=len(payload),
            file_size=len(data),
            zip64=zip64,
        )
        assert len(header) == local_header_size(raw, zip64=zip64)
        out += header + payload
        if descriptor:
            out += data_descriptor(crc, len(payload), len(data), zip64=zip64)
        records.append(MemberRecord(raw, flags, method, DT, crc, len(payload), len(data), offset))
    cd_offset = len(out)
    for r in records:
        out += central_header(r)
    out += end_records(
        entries=len(records),
        cd_offset=cd_offset,
        cd_size=len(out) - cd_offset,
        zip64=force_zip64_end,
    )
    return bytes(out)


#: Names with any character but the surrogates (not encodable).
NO_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)

names = st.text(
    alphabet=st.characters(exclude_categories=NO_SURROGATES, exclude_characters="\x00/\\"),
    min_size=1,
    max_size=40,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            names,
            st.binary(max_size=3000),
            st.sampled_from([METHOD_STORED, METHOD_DEFLATE]),
            st.booleans(),
            st.booleans(),
        ),
        min_size=0,
        max_size=6,
        unique_by=lambda t: t[0],
    ),
    st.booleans(),
)
def test_round_trip_zipfile_and_fastzips3(
    members: list[tuple[str, bytes, int, bool, bool]], zip64_end: bool
) -> None:
    blob = assemble(members, force_zip64_end=zip64_end)
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert zf.testzip() is None
        assert [i.filename for i in zf.infolist()] == [m[0] for m in members]
        for name, data, *_ in members:
            assert zf.read(name) == data
            info = zf.getinfo(name)
            assert bool(info.flag_bits & FLAG_UTF8) == (not name.isascii())
    with fastzips3.open_archive(fastzips3.MemorySource(blob)) as archive:
        assert archive.namelist() == [m[0] for m in members]
        for name, data, *_ in members:
            assert archive.read(name) == data


def test_empty_members_and_directories() -> None:
    blob = assemble(
        [("d/", b"", METHOD_STORED, False, False), ("e", b"", METHOD_DEFLATE, True, False)]
    )
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert zf.getinfo("d/").is_dir()
        assert zf.read("e") == b""


def test_65535_entries_and_more_need_zip64_end() -> None:
    count = 65_536
    out = bytearray()
    cd = bytearray()
    empty_header = local_header(
        b"x", flags=0, method=0, date_time=DT, crc=0, compress_size=0, file_size=0
    )
    for i in range(count):
        raw = b"%05x" % i
        offset = len(out)
        out += empty_header[:26] + struct.pack("<HH", len(raw), 0) + raw
        cd += central_header(MemberRecord(raw, 0, 0, DT, 0, 0, 0, offset))
    cd_offset = len(out)
    blob = bytes(out + cd + end_records(entries=count, cd_offset=cd_offset, cd_size=len(cd)))
    assert b"PK\x06\x06" in blob[-200:]
    with zipfile.ZipFile(io.BytesIO(blob)) as zf:
        assert len(zf.infolist()) == count
    with fastzips3.open_archive(fastzips3.MemorySource(blob)) as archive:
        assert len(archive) == count
        assert archive.namelist()[-1] == "%05x" % (count - 1)
    # 65,534 entries fit the 16-bit count and need no ZIP64 end record
    small = end_records(entries=65_534, cd_offset=10, cd_size=10)
    assert small[:4] == b"PK\x05\x06" and len(small) == 22
    assert end_records(entries=65_535, cd_offset=10, cd_size=10)[:4] == b"PK\x06\x06"


@pytest.mark.parametrize("size", [(1 << 32) - 2, (1 << 32) - 1, (1 << 32) + 5])
def test_sizes_around_4_gib_sparse(tmp_path: Path, size: int) -> None:
    """A stored member of zeros around 4 GiB, in a sparse file: both readers list it, and its
    last bytes read back (the data is not written, the file system makes zeros)."""
    from fastzips3._codecs.crc import crc32

    zeros = bytes(1 << 24)
    crc = 0
    left = size
    while left:
        n = min(left, len(zeros))
        crc = crc32(zeros[:n], crc)
        left -= n
    raw, flags = encode_name("big.bin")
    header = local_header(
        raw, flags=flags, method=0, date_time=DT, crc=crc, compress_size=size, file_size=size
    )
    assert (b"\x01\x00\x10\x00" in header) == (size >= 0xFFFFFFFF)
    tail_raw, _ = encode_name("after.txt")
    path = tmp_path / "sparse.zip"
    with open(path, "wb") as f:
        f.write(header)
        f.seek(len(header) + size)
        second = f.tell()
        f.write(
            local_header(
                tail_raw,
                flags=0,
                method=0,
                date_time=DT,
                crc=zlib.crc32(b"tail"),
                compress_size=4,
                file_size=4,
            )
        )
        f.write(b"tail")
        cd_offset = f.tell()
        cd = central_header(MemberRecord(raw, flags, 0, DT, crc, size, size, 0))
        cd += central_header(MemberRecord(tail_raw, 0, 0, DT, zlib.crc32(b"tail"), 4, 4, second))
        f.write(cd)
        f.write(end_records(entries=2, cd_offset=cd_offset, cd_size=len(cd)))
    with zipfile.ZipFile(path) as zf:
        assert zf.getinfo("big.bin").file_size == size
        assert zf.read("after.txt") == b"tail"
    with fastzips3.open_archive(str(path), directory_cache=False) as archive:
        assert archive.getinfo("big.bin").file_size == size
        assert archive.getinfo("after.txt").header_offset == second
        assert archive.read("after.txt") == b"tail"
        with archive.open("big.bin", verify=False) as member:
            member.seek(size - 10)
            assert member.read() == bytes(10)
    os.unlink(path)


def test_descriptor_and_dos_time() -> None:
    assert len(data_descriptor(1, 2, 3, zip64=False)) == 16
    assert len(data_descriptor(1, 2, 3, zip64=True)) == 24
    with pytest.raises(ValueError, match="ZIP64"):
        data_descriptor(1, 1 << 32, 3, zip64=False)
    assert dos_datetime((1970, 1, 1, 0, 0, 0)) == (0, (0 << 9) | (1 << 5) | 1)
    t, _d = dos_datetime((2020, 2, 3, 4, 5, 7))
    assert (t >> 11, (t >> 5) & 63, (t & 31) * 2) == (4, 5, 6)
    with pytest.raises(ValueError, match="empty"):
        encode_name("")
    with pytest.raises(ValueError, match="NUL"):
        encode_name("a\x00b")
