"""The one-loop directory parser gives exactly what the record-by-record path gives."""

from __future__ import annotations

import gc
import io
import random
import struct
import zipfile
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastzips3._format.entry import ZipEntry, entries_from_directory, entry_from_header
from fastzips3._format.plan import Directory, DirectoryPlan
from fastzips3._format.records import CentralDirectoryHeader
from fastzips3.errors import CentralDirectoryError, FormatError


def _slow_entries(directory: Directory, data: bytes) -> list[ZipEntry]:
    pos = directory.cd_start
    out: list[ZipEntry] = []
    while len(out) < len(directory.entries):
        header, pos = CentralDirectoryHeader.parse(data, pos, pos, limit=directory.cd_end)
        out.append(
            entry_from_header(header, base_offset=directory.base_offset, at=directory.cd_start)
        )
    return out


def _listed(data: bytes) -> Directory:
    """The directory of ``data``, checked equal to the record-by-record path."""
    plan = DirectoryPlan(len(data))
    plan.feed(0, data)
    directory = plan.step()
    assert isinstance(directory, Directory)
    assert list(directory.entries) == _slow_entries(directory, data)
    return directory


def _unicode_path_extra(name: str, raw: bytes) -> bytes:
    body = b"\x01" + struct.pack("<L", zlib.crc32(raw)) + name.encode()
    return struct.pack("<HH", 0x7075, len(body)) + body


names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(
    members=st.lists(
        st.tuples(names, st.binary(max_size=40), st.sampled_from(["", "up", "ut", "junk"])),
        min_size=1,
        max_size=12,
    ),
    comment=st.binary(max_size=20),
    seed=st.integers(0, 1000),
)
def test_fast_path_equals_the_slow_path(
    members: list[tuple[str, bytes, str]], comment: bytes, seed: int
) -> None:
    rng = random.Random(seed)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i, (name, content, extra_kind) in enumerate(members):
            info = zipfile.ZipInfo(f"{i}/{name}", date_time=(1990 + i, 1 + i % 12, 1, 2, 3, 4))
            raw = info.filename.encode("utf-8")
            if extra_kind == "up":
                info.extra = _unicode_path_extra(f"{i}/renamed-{name}", raw)
            elif extra_kind == "ut":
                info.extra = struct.pack("<HHBl", 0x5455, 5, 1, rng.randint(0, 2**31 - 1))
            elif extra_kind == "junk":
                info.extra = struct.pack("<HH", 0xCAFE, 3) + b"upx"
            info.comment = comment[: i + 1]
            info.compress_type = zipfile.ZIP_DEFLATED if i % 2 else zipfile.ZIP_STORED
            zf.writestr(info, content)
    data = buf.getvalue()
    directory = _listed(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert [e.name for e in directory.entries] == [
            # a name flagged UTF-8 is UTF-8; a Unicode Path field names the others
            (
                f"{i}/renamed-{m[0]}"
                if m[2] == "up" and not i_name.flag_bits & 0x800
                else i_name.filename
            )
            for i, (m, i_name) in enumerate(zip(members, zf.infolist(), strict=True))
        ]


def test_zip64_entries_take_the_full_path() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", allowZip64=True) as zf:
        with zf.open("big", "w", force_zip64=True) as f:
            f.write(b"x" * 100)
        zf.writestr("small", b"y")
    directory = _listed(buf.getvalue())
    assert directory.entries[0].file_size == 100


def _many(n: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(n):
            zf.writestr(f"f{i}", b"")
    return buf.getvalue()


def test_a_damaged_header_in_a_large_directory_raises_and_restores_the_collector() -> None:
    data = bytearray(_many(1500))
    directory_start = data.index(b"PK\x01\x02")
    damaged = data.index(b"PK\x01\x02", directory_start + 46 * 700)
    data[damaged : damaged + 4] = b"PK\x09\x09"
    assert gc.isenabled()
    with pytest.raises(CentralDirectoryError, match="signature"):
        entries_from_directory(
            bytes(data),
            directory_start,
            len(data) - 22,
            offset=0,
            base_offset=0,
            declared=1500,
            limit=None,
        )
    assert gc.isenabled()


def test_a_paused_collector_stays_as_the_caller_left_it() -> None:
    data = _many(1200)
    gc.disable()
    try:
        plan = DirectoryPlan(len(data))
        plan.feed(0, data)
        assert isinstance(plan.step(), Directory)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_truncated_directory_is_a_format_error() -> None:
    data = _many(1100)
    start = data.index(b"PK\x01\x02")
    with pytest.raises(FormatError):
        entries_from_directory(
            data, start, start + 46 * 10 + 3, offset=0, base_offset=0, declared=1100, limit=None
        )
