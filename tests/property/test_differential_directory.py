"""The compiled directory parser against the pure-Python reference, on made-up bytes.

Hypothesis makes archives (names in many scripts, with and without the UTF-8 flag, Unicode Path
fields right and stale, ZIP64 fields, prepended data, comments) and byte soups (valid archives
with bytes changed, cut or inserted). Both implementations list each one in one process: they
must give identical directories, field by field, or the same error with the same message.
"""

from __future__ import annotations

import gc
import io
import struct
import zipfile
import zlib

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fastzips3._accel import CORE
from fastzips3._format.entry import ZipEntry, entries_from_directory
from fastzips3._format.names import ascii_compatible
from fastzips3.errors import FastZipS3Error
from tests.helpers.directory import list_with

pytestmark = pytest.mark.skipif(
    CORE is None, reason="the compiled core is off or not built: nothing to compare"
)

ENCODINGS = [None, "shift_jis", "gbk", "cp1252", "utf-16-le"]

names = st.text(
    alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00"),
    min_size=0,
    max_size=20,
)


def _field(header_id: int, body: bytes) -> bytes:
    return struct.pack("<HH", header_id, len(body)) + body


@st.composite
def archives(draw: st.DrawFn) -> bytes:
    """A zipfile-made archive whose central directory records vary in every way that matters."""
    buf = io.BytesIO()
    prefix = draw(st.binary(max_size=30))
    buf.write(prefix)
    count = draw(st.integers(1, 8))
    with zipfile.ZipFile(buf, "a" if prefix else "w") as zf:
        for i in range(count):
            name = f"{i}{draw(names)}"
            info = zipfile.ZipInfo(
                name, date_time=(1980 + draw(st.integers(0, 127)), 1, 2, 3, 4, 6)
            )
            raw = name.encode("utf-8")
            extra = b""
            kind = draw(st.sampled_from(["none", "up", "stale-up", "bad-up", "junk", "ut", "cut"]))
            if kind == "up":
                extra = _field(0x7075, b"\x01" + struct.pack("<L", zlib.crc32(raw)) + b"up/" + raw)
            elif kind == "stale-up":
                extra = _field(0x7075, b"\x01" + struct.pack("<L", zlib.crc32(raw) ^ 1) + b"x")
            elif kind == "bad-up":
                body = b"\x01" + struct.pack("<L", zlib.crc32(raw)) + b"\xff\xfe"
                extra = _field(0x7075, body)
            elif kind == "junk":
                extra = _field(0xCAFE, draw(st.binary(max_size=8)))
            elif kind == "ut":
                extra = struct.pack("<HHBl", 0x5455, 5, 1, draw(st.integers(0, 2**31 - 1)))
            elif kind == "cut":
                extra = struct.pack("<HH", 0x7075, 40) + b"\x01abc"
            info.extra = extra
            info.comment = draw(st.binary(max_size=6))
            info.compress_type = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
            content = draw(st.binary(max_size=20))
            with zf.open(info, "w", force_zip64=draw(st.booleans())) as f:
                f.write(content)
        zf.comment = draw(st.binary(max_size=10))
    data = buf.getvalue()
    if draw(st.booleans()):
        data = _drop_utf8_flags(data)
    return data


def _drop_utf8_flags(data: bytes) -> bytes:
    """Clear flag bit 11 in every central header (UTF-8 names written unflagged, as on macOS)."""
    out = bytearray(data)
    pos = out.find(b"PK\x01\x02")
    while 0 <= pos <= len(out) - 10:
        (flags,) = struct.unpack_from("<H", out, pos + 8)
        struct.pack_into("<H", out, pos + 8, flags & ~0x800)
        pos = out.find(b"PK\x01\x02", pos + 4)
    return bytes(out)


def _same(data: bytes, **kwargs: object) -> None:
    pure = list_with(data, None, **kwargs)  # type: ignore[arg-type]
    compiled = list_with(data, CORE, **kwargs)  # type: ignore[arg-type]
    assert pure == compiled


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=archives(), encoding=st.sampled_from(ENCODINGS), tail=st.sampled_from([None, 30]))
def test_archives_list_alike(data: bytes, encoding: str | None, tail: int | None) -> None:
    _same(data, metadata_encoding=encoding, tail=tail)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=archives(),
    edits=st.lists(st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=4)), max_size=4),
    cut=st.floats(0, 1),
    how=st.sampled_from(["overwrite", "insert", "truncate-end", "truncate-start"]),
    max_entries=st.sampled_from([None, 0, 2]),
)
def test_byte_soups_list_alike(
    data: bytes,
    edits: list[tuple[float, bytes]],
    cut: float,
    how: str,
    max_entries: int | None,
) -> None:
    soup = bytearray(data)
    for where, patch in edits:
        at = int(where * len(soup))
        if how == "insert":
            soup[at:at] = patch
        else:
            soup[at : at + len(patch)] = patch
    if how == "truncate-end":
        soup = soup[: int(cut * len(soup))]
    elif how == "truncate-start":
        soup = soup[int(cut * len(soup)) :]
    _same(bytes(soup), max_entries=max_entries)


@settings(max_examples=300, deadline=None)
@given(
    buf=st.binary(max_size=300),
    pos=st.integers(0, 300),
    stop=st.integers(0, 300),
    declared=st.integers(0, 2**64 - 1) | st.integers(0, 5),
    limit=st.none() | st.integers(-1, 4),
    base_offset=st.integers(0, 2**40),
    encoding=st.sampled_from(ENCODINGS),
)
def test_the_directory_loop_alone(
    buf: bytes,
    pos: int,
    stop: int,
    declared: int,
    limit: int | None,
    base_offset: int,
    encoding: str | None,
) -> None:
    """The loop on any bytes and bounds: what ``entries_from_directory`` gives, or raises."""
    assume(stop <= len(buf))
    seeded = b"PK\x01\x02" + buf  # a signature up front, so the loop gets past the first check

    def pure() -> object:
        try:
            return entries_from_directory(
                seeded,
                pos,
                stop,
                offset=7,
                base_offset=base_offset,
                declared=declared,
                limit=limit,
                encoding=encoding,
            )
        except FastZipS3Error as exc:
            return (type(exc), str(exc), getattr(exc, "offset", None))

    def compiled() -> object:
        assert CORE is not None
        try:
            entries, offsets = CORE.directory_entries(
                seeded,
                pos,
                stop,
                offset=7,
                base_offset=base_offset,
                declared=declared,
                limit=limit,
                entry_type=ZipEntry,
                encoding=encoding,
                ascii_ok=ascii_compatible(encoding),
                cd_start=1 << 62,
            )
        except FastZipS3Error as exc:
            return (type(exc), str(exc), getattr(exc, "offset", None))
        assert offsets == tuple(sorted({e.header_offset for e in entries}))
        assert type(entries) is tuple and not gc.is_tracked(entries)
        return list(entries)

    assert pure() == compiled()
