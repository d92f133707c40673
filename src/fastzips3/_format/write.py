"""Serializing APPNOTE records: the write side of :mod:`fastzips3._format.records`.

Pure: values in, bytes out; no I/O. ZIP64 is chosen automatically, field by field, as APPNOTE
4.5.3 says: a 32-bit field that cannot hold its value is set to ``0xFFFFFFFF`` (``0xFFFF`` for
counts) and the value goes into the ZIP64 extra field (local and central headers) or the ZIP64
end record. Names that are not ASCII are stored as UTF-8 with general-purpose bit 11 set.

The writer (``fastzips3.writer``) decides *when* each record is written; this module only says
what its bytes are.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from fastzips3._format.records import (
    CentralDirectoryHeader,
    EndOfCentralDirectory,
    LocalFileHeader,
    Zip64EndOfCentralDirectory,
    Zip64EndOfCentralDirectoryLocator,
)

__all__ = [
    "FLAG_DATA_DESCRIPTOR",
    "FLAG_UTF8",
    "METHOD_DEFLATE",
    "METHOD_STORED",
    "METHOD_ZSTD",
    "U16_MAX",
    "U32_MAX",
    "MemberRecord",
    "central_header",
    "data_descriptor",
    "dos_datetime",
    "encode_name",
    "end_records",
    "local_header",
    "local_header_size",
]

U32_MAX = 0xFFFFFFFF
U16_MAX = 0xFFFF
FLAG_DATA_DESCRIPTOR = 0x08
FLAG_UTF8 = 0x800
METHOD_STORED = 0
METHOD_DEFLATE = 8
METHOD_ZSTD = 93
ZIP64_EXTRA_ID = 0x0001
#: "made by" 3.0 (APPNOTE 6.3) on Unix (3), as Info-ZIP writes it.
_MADE_BY = (3 << 8) | 63
_DESCRIPTOR = b"PK\x07\x08"


def encode_name(name: str) -> tuple[bytes, int]:
    """The stored bytes of ``name`` and the flag bits it needs (bit 11 when not ASCII)."""
    if not name:
        raise ValueError("a member name must not be empty")
    if "\x00" in name:
        raise ValueError(f"a member name must not contain NUL: {name!r}")
    try:
        return name.encode("ascii"), 0
    except UnicodeEncodeError:
        return name.encode("utf-8"), FLAG_UTF8


def dos_datetime(date_time: tuple[int, int, int, int, int, int]) -> tuple[int, int]:
    """MS-DOS ``(time, date)`` words of ``(year, month, day, hour, minute, second)``.

    Years before 1980 are clamped to 1980-01-01 00:00 and after 2107 to its last second, as
    Info-ZIP does; seconds are stored in 2-second units.
    """
    year, month, day, hour, minute, second = date_time
    if year < 1980:
        year, month, day, hour, minute, second = 1980, 1, 1, 0, 0, 0
    elif year > 2107:
        year, month, day, hour, minute, second = 2107, 12, 31, 23, 59, 58
    dos_time = (hour << 11) | (minute << 5) | (second // 2)
    dos_date = ((year - 1980) << 9) | (month << 5) | day
    return dos_time, dos_date


def _version_needed(method: int, zip64: bool) -> int:
    if method == METHOD_ZSTD:
        return 63
    if zip64:
        return 45
    return 20 if method == METHOD_DEFLATE else 10


@dataclass(frozen=True, slots=True)
class MemberRecord:
    """What the central directory says about one member (the writer fills it in as it goes).

    ``raw_name`` is the stored name (:func:`encode_name`); ``flags`` must hold bit 11 when that
    says so; ``date_time`` is zipfile's 6-tuple; ``external_attr`` holds Unix mode bits in its
    high 16 bits; ``made_by`` is the "version made by" word (the host system in its high byte).
    """

    raw_name: bytes
    flags: int
    method: int
    date_time: tuple[int, int, int, int, int, int]
    crc: int
    compress_size: int
    file_size: int
    header_offset: int
    external_attr: int = 0o100644 << 16
    extra: bytes = b""
    comment: bytes = b""
    made_by: int = _MADE_BY


def _zip64_extra(values: list[int]) -> bytes:
    if not values:
        return b""
    return struct.pack(f"<HH{len(values)}Q", ZIP64_EXTRA_ID, 8 * len(values), *values)


def local_header_size(raw_name: bytes, *, zip64: bool, extra: bytes = b"") -> int:
    """Bytes of the local header :func:`local_header` makes for these arguments."""
    return LocalFileHeader.STRUCT.size + len(raw_name) + len(extra) + (20 if zip64 else 0)


def local_header(
    raw_name: bytes,
    *,
    flags: int,
    method: int,
    date_time: tuple[int, int, int, int, int, int],
    crc: int,
    compress_size: int,
    file_size: int,
    zip64: bool = False,
    extra: bytes = b"",
) -> bytes:
    """4.3.7 Local file header.

    With ``zip64`` (forced by sizes past 32 bits, or chosen up front for a stream whose size is
    not known yet) both sizes go into a ZIP64 extra field and the 32-bit fields hold
    ``0xFFFFFFFF``: the header's length then does not depend on the values, so a header written
    early can be rewritten in place once the sizes are known. With bit 3 (data descriptor) set,
    the CRC and sizes are written as zero, as APPNOTE 4.4.4 asks.
    """
    if compress_size > U32_MAX - 1 or file_size > U32_MAX - 1:
        zip64 = True
    if flags & FLAG_DATA_DESCRIPTOR:
        crc = compress_size = file_size = 0
    if len(raw_name) > U16_MAX:
        raise ValueError("a member name must be at most 65,535 bytes")
    z64 = _zip64_extra([file_size, compress_size]) if zip64 else b""
    all_extra = z64 + extra
    if len(all_extra) > U16_MAX:
        raise ValueError("the extra field must be at most 65,535 bytes")
    dos_time, dos_date = dos_datetime(date_time)
    fixed = LocalFileHeader.STRUCT.pack(
        LocalFileHeader.SIGNATURE,
        _version_needed(method, zip64),
        flags,
        method,
        dos_time,
        dos_date,
        crc,
        U32_MAX if zip64 else compress_size,
        U32_MAX if zip64 else file_size,
        len(raw_name),
        len(all_extra),
    )
    return fixed + raw_name + all_extra


def data_descriptor(crc: int, compress_size: int, file_size: int, *, zip64: bool) -> bytes:
    """4.3.9 Data descriptor, with its signature; 8-byte sizes when ``zip64``.

    ``zip64`` must be what the local header said (a ZIP64 extra field there means 8-byte sizes
    here, APPNOTE 4.3.9.2); sizes past 32 bits without it are refused.
    """
    if zip64:
        return _DESCRIPTOR + struct.pack("<LQQ", crc, compress_size, file_size)
    if compress_size > U32_MAX or file_size > U32_MAX:
        raise ValueError("sizes past 4 GiB need a ZIP64 data descriptor")
    return _DESCRIPTOR + struct.pack("<LLL", crc, compress_size, file_size)


def central_header(record: MemberRecord) -> bytes:
    """4.3.12 Central directory file header, with a ZIP64 extra field when a value needs one."""
    values: list[int] = []
    file_size = record.file_size
    compress_size = record.compress_size
    offset = record.header_offset
    if file_size >= U32_MAX:
        values.append(file_size)
        file_size = U32_MAX
    if compress_size >= U32_MAX:
        values.append(compress_size)
        compress_size = U32_MAX
    if offset >= U32_MAX:
        values.append(offset)
        offset = U32_MAX
    extra = _zip64_extra(values) + record.extra
    if len(extra) > U16_MAX or len(record.comment) > U16_MAX or len(record.raw_name) > U16_MAX:
        raise ValueError("name, extra field and comment must each be at most 65,535 bytes")
    dos_time, dos_date = dos_datetime(record.date_time)
    needed = _version_needed(record.method, bool(values))
    fixed = CentralDirectoryHeader.STRUCT.pack(
        CentralDirectoryHeader.SIGNATURE,
        record.made_by,
        needed,
        record.flags,
        record.method,
        dos_time,
        dos_date,
        record.crc,
        compress_size,
        file_size,
        len(record.raw_name),
        len(extra),
        len(record.comment),
        0,  # disk number start
        0,  # internal attributes
        record.external_attr,
        offset,
    )
    return fixed + record.raw_name + extra + record.comment


def end_records(
    *, entries: int, cd_offset: int, cd_size: int, comment: bytes = b"", zip64: bool = False
) -> bytes:
    """The records after the central directory: 4.3.14 ZIP64 end record and 4.3.15 locator
    when needed (or ``zip64`` forces them), then 4.3.16 the end of central directory record.

    ``cd_offset`` is where the central directory starts; the ZIP64 end record follows it at
    ``cd_offset + cd_size``.
    """
    if len(comment) > U16_MAX:
        raise ValueError("the archive comment must be at most 65,535 bytes")
    need64 = zip64 or entries >= U16_MAX or cd_size >= U32_MAX or cd_offset >= U32_MAX
    out = b""
    if need64:
        end64_at = cd_offset + cd_size
        out += Zip64EndOfCentralDirectory.STRUCT.pack(
            Zip64EndOfCentralDirectory.SIGNATURE,
            Zip64EndOfCentralDirectory.STRUCT.size - 12,
            _MADE_BY,
            45,
            0,
            0,
            entries,
            entries,
            cd_size,
            cd_offset,
        )
        out += Zip64EndOfCentralDirectoryLocator.STRUCT.pack(
            Zip64EndOfCentralDirectoryLocator.SIGNATURE, 0, end64_at, 1
        )
    out += EndOfCentralDirectory.STRUCT.pack(
        EndOfCentralDirectory.SIGNATURE,
        0,
        0,
        min(entries, U16_MAX),
        min(entries, U16_MAX),
        min(cd_size, U32_MAX),
        min(cd_offset, U32_MAX),
        len(comment),
    )
    return out + comment
