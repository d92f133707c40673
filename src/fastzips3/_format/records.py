"""APPNOTE records: one frozen dataclass each, parsed from bytes that the caller already has.

Nothing here does I/O. Each ``parse`` takes a buffer and an offset inside it, and the absolute
archive offset of that buffer position (``at``) only to put it into errors.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from fastzips3.errors import (
    CentralDirectoryError,
    EOCDNotFoundError,
    LocalHeaderError,
    TruncatedError,
    Zip64Error,
)

__all__ = [
    "CentralDirectoryHeader",
    "DataDescriptor",
    "EndOfCentralDirectory",
    "LocalFileHeader",
    "Zip64EndOfCentralDirectory",
    "Zip64EndOfCentralDirectoryLocator",
]


def _need(buf: bytes | memoryview, pos: int, length: int, record: str, at: int) -> None:
    if pos < 0 or pos + length > len(buf):
        raise TruncatedError(
            f"the {record} at offset {at} needs {length} bytes but only "
            f"{max(0, len(buf) - pos)} are present",
            offset=at,
            record=record,
        )


@dataclass(frozen=True, slots=True)
class EndOfCentralDirectory:
    """4.3.16 End of central directory record."""

    SIGNATURE: ClassVar[bytes] = b"PK\x05\x06"
    STRUCT: ClassVar[struct.Struct] = struct.Struct("<4s4H2LH")
    SIZE: ClassVar[int] = 22
    MAX_COMMENT: ClassVar[int] = 0xFFFF

    disk_number: int
    cd_disk: int
    disk_entries: int
    total_entries: int
    cd_size: int
    cd_offset: int
    comment: bytes
    comment_truncated: bool = False

    @classmethod
    def parse(cls, buf: bytes | memoryview, pos: int, at: int) -> EndOfCentralDirectory:
        """Parse the record at ``buf[pos:]``; bytes may follow its comment (trailing junk)."""
        _need(buf, pos, cls.SIZE, "end of central directory record", at)
        sig, disk, cd_disk, disk_entries, total, cd_size, cd_offset, clen = cls.STRUCT.unpack_from(
            buf, pos
        )
        if sig != cls.SIGNATURE:
            raise EOCDNotFoundError(
                "no end of central directory signature", offset=at, record="EOCD"
            )
        comment_start = pos + cls.SIZE
        comment_end = comment_start + clen
        return cls(
            disk,
            cd_disk,
            disk_entries,
            total,
            cd_size,
            cd_offset,
            bytes(buf[comment_start:comment_end]),
            comment_end > len(buf),
        )

    @property
    def needs_zip64(self) -> bool:
        """True when a field holds its ZIP64 sentinel, so the ZIP64 records must be consulted."""
        return (
            self.disk_number == 0xFFFF
            or self.cd_disk == 0xFFFF
            or self.disk_entries == 0xFFFF
            or self.total_entries == 0xFFFF
            or self.cd_size == 0xFFFFFFFF
            or self.cd_offset == 0xFFFFFFFF
        )


@dataclass(frozen=True, slots=True)
class Zip64EndOfCentralDirectoryLocator:
    """4.3.15 Zip64 end of central directory locator."""

    SIGNATURE: ClassVar[bytes] = b"PK\x06\x07"
    STRUCT: ClassVar[struct.Struct] = struct.Struct("<4sLQL")
    SIZE: ClassVar[int] = 20

    eocd64_disk: int
    eocd64_offset: int
    total_disks: int

    @classmethod
    def parse(
        cls, buf: bytes | memoryview, pos: int, at: int
    ) -> Zip64EndOfCentralDirectoryLocator | None:
        """Parse the locator at ``buf[pos:]``, or return None when its signature is absent."""
        if pos < 0 or pos + cls.SIZE > len(buf):
            return None
        sig, disk, offset, disks = cls.STRUCT.unpack_from(buf, pos)
        if sig != cls.SIGNATURE:
            return None
        return cls(disk, offset, disks)


@dataclass(frozen=True, slots=True)
class Zip64EndOfCentralDirectory:
    """4.3.14 Zip64 end of central directory record."""

    SIGNATURE: ClassVar[bytes] = b"PK\x06\x06"
    STRUCT: ClassVar[struct.Struct] = struct.Struct("<4sQ2H2L4Q")
    SIZE: ClassVar[int] = 56

    record_size: int
    version_made_by: int
    version_needed: int
    disk_number: int
    cd_disk: int
    disk_entries: int
    total_entries: int
    cd_size: int
    cd_offset: int

    @classmethod
    def parse(cls, buf: bytes | memoryview, pos: int, at: int) -> Zip64EndOfCentralDirectory:
        """Parse the ZIP64 end record at ``buf[pos:]``."""
        if pos < 0 or pos + cls.SIZE > len(buf):
            raise Zip64Error(
                "the ZIP64 end of central directory record is cut short",
                offset=at,
                record="ZIP64 EOCD",
            )
        fields = cls.STRUCT.unpack_from(buf, pos)
        if fields[0] != cls.SIGNATURE:
            raise Zip64Error(
                "the ZIP64 locator points at bytes that are not a ZIP64 end record",
                offset=at,
                record="ZIP64 EOCD",
            )
        return cls(*fields[1:])


class _CentralDirectoryFields(NamedTuple):
    version_made_by: int
    version_needed: int
    flags: int
    method: int
    dos_time: int
    dos_date: int
    crc32: int
    compress_size: int
    file_size: int
    disk_start: int
    internal_attr: int
    external_attr: int
    header_offset: int
    raw_name: bytes
    extra: bytes
    comment: bytes


class CentralDirectoryHeader(_CentralDirectoryFields):
    """4.3.12 Central directory structure: one file header, raw fields (sizes not resolved).

    Immutable like the other records, but a named tuple: listing parses one per entry, and a
    frozen dataclass's ``__init__`` costs one ``object.__setattr__`` per field (16 here).
    """

    __slots__ = ()

    SIGNATURE: ClassVar[bytes] = b"PK\x01\x02"
    STRUCT: ClassVar[struct.Struct] = struct.Struct("<4s6H3L5H2L")
    SIZE: ClassVar[int] = 46

    @classmethod
    def parse(
        cls, buf: bytes | memoryview, pos: int, at: int, *, limit: int | None = None
    ) -> tuple[CentralDirectoryHeader, int]:
        """Parse one header at ``buf[pos:]``, which must end by ``limit`` (default: the end of
        ``buf``); return it and the position after it."""
        limit = len(buf) if limit is None else limit
        if pos + cls.SIZE > limit:
            raise CentralDirectoryError(
                "the central directory ends in the middle of an entry",
                offset=at,
                record="central directory header",
            )
        (
            sig,
            made_by,
            needed,
            flags,
            method,
            dos_time,
            dos_date,
            crc,
            csize,
            usize,
            nlen,
            elen,
            clen,
            disk,
            iattr,
            eattr,
            offset,
        ) = cls.STRUCT.unpack_from(buf, pos)
        if sig != cls.SIGNATURE:
            raise CentralDirectoryError(
                "expected a central directory header signature",
                offset=at,
                record="central directory header",
            )
        end = pos + cls.SIZE + nlen + elen + clen
        if end > limit:
            raise CentralDirectoryError(
                "a central directory entry's name, extra or comment runs past the directory",
                offset=at,
                record="central directory header",
            )
        p = pos + cls.SIZE
        name = bytes(buf[p : p + nlen])
        extra = bytes(buf[p + nlen : p + nlen + elen]) if elen else b""
        comment = bytes(buf[p + nlen + elen : end]) if clen else b""
        return (
            cls(
                made_by,
                needed,
                flags,
                method,
                dos_time,
                dos_date,
                crc,
                csize,
                usize,
                disk,
                iattr,
                eattr,
                offset,
                name,
                extra,
                comment,
            ),
            end,
        )


@dataclass(frozen=True, slots=True)
class LocalFileHeader:
    """4.3.7 Local file header."""

    SIGNATURE: ClassVar[bytes] = b"PK\x03\x04"
    STRUCT: ClassVar[struct.Struct] = struct.Struct("<4s5H3L2H")
    SIZE: ClassVar[int] = 30

    version_needed: int
    flags: int
    method: int
    dos_time: int
    dos_date: int
    crc32: int
    compress_size: int
    file_size: int
    name_length: int
    extra_length: int

    @classmethod
    def parse(cls, buf: bytes | memoryview, pos: int, at: int) -> LocalFileHeader:
        """Parse the fixed part of a local header at ``buf[pos:]`` (name and extra follow)."""
        if pos + cls.SIZE > len(buf):
            raise TruncatedError(
                "the archive ends inside a local file header", offset=at, record="local header"
            )
        sig, needed, flags, method, t, d, crc, csize, usize, nlen, elen = cls.STRUCT.unpack_from(
            buf, pos
        )
        if sig != cls.SIGNATURE:
            raise LocalHeaderError(
                "no local file header signature where the central directory says the member starts",
                offset=at,
                record="local header",
            )
        return cls(needed, flags, method, t, d, crc, csize, usize, nlen, elen)

    @property
    def variable_length(self) -> int:
        """Bytes of name and extra field after the fixed 30 bytes."""
        return self.name_length + self.extra_length


@dataclass(frozen=True, slots=True)
class DataDescriptor:
    """4.3.9 Data descriptor (the signature is optional; ZIP64 form has 8-byte sizes)."""

    SIGNATURE: ClassVar[bytes] = b"PK\x07\x08"

    crc32: int
    compress_size: int
    file_size: int
    length: int

    @classmethod
    def parse(cls, buf: bytes | memoryview, pos: int, at: int, *, zip64: bool) -> DataDescriptor:
        """Parse a descriptor at ``buf[pos:]``, with or without its signature."""
        has_sig = bytes(buf[pos : pos + 4]) == cls.SIGNATURE
        p = pos + (4 if has_sig else 0)
        fmt = "<LQQ" if zip64 else "<LLL"
        size = struct.calcsize(fmt)
        _need(buf, p, size, "data descriptor", at)
        crc, csize, usize = struct.unpack_from(fmt, buf, p)
        return cls(crc, csize, usize, p + size - pos)
