"""Extra fields (APPNOTE 4.5): ZIP64, Info-ZIP Unicode path, extended timestamp, WinZip AES."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from fastzips3.errors import Zip64Error

__all__ = [
    "AES_HEADER_ID",
    "EXTENDED_TIMESTAMP_ID",
    "UNICODE_PATH_ID",
    "ZIP64_ID",
    "AesExtra",
    "Zip64Values",
    "aes_extra",
    "extended_mtime",
    "iter_extra",
    "resolve_zip64",
    "unicode_path",
]

ZIP64_ID = 0x0001
EXTENDED_TIMESTAMP_ID = 0x5455
UNICODE_PATH_ID = 0x7075
AES_HEADER_ID = 0x9901

_U32_MAX = 0xFFFFFFFF
_U16_MAX = 0xFFFF


def iter_extra(extra: bytes) -> list[tuple[int, bytes]]:
    """Split an extra field block into ``(header id, data)`` pairs.

    A trailing fragment shorter than a field header, or a field whose length runs past the block,
    ends the walk: such padding is common in the wild (Android's zipalign, some Java tools) and is
    not an error on its own.
    """
    fields: list[tuple[int, bytes]] = []
    pos = 0
    while pos + 4 <= len(extra):
        header_id, size = struct.unpack_from("<HH", extra, pos)
        pos += 4
        if pos + size > len(extra):
            break
        fields.append((header_id, extra[pos : pos + size]))
        pos += size
    return fields


def _find(extra: bytes, header_id: int) -> bytes | None:
    if not extra:
        return None
    for hid, data in iter_extra(extra):
        if hid == header_id:
            return data
    return None


@dataclass(frozen=True, slots=True)
class Zip64Values:
    """4.5.3 Zip64 extended information: the 32-bit fields after ZIP64 resolution."""

    file_size: int
    compress_size: int
    header_offset: int
    disk_start: int


def resolve_zip64(
    extra: bytes,
    *,
    file_size: int,
    compress_size: int,
    header_offset: int,
    disk_start: int,
    at: int,
) -> Zip64Values:
    """Replace every sentinel-valued field with its value from the ZIP64 extra field.

    The ZIP64 field holds only the values whose 32-bit field is the sentinel, in a fixed order.
    """
    needed = [
        file_size == _U32_MAX,
        compress_size == _U32_MAX,
        header_offset == _U32_MAX,
        disk_start == _U16_MAX,
    ]
    if not any(needed):
        return Zip64Values(file_size, compress_size, header_offset, disk_start)
    data = _find(extra, ZIP64_ID)
    if data is None:
        # Some writers put 0xFFFFFFFF in a field that really is that large; without a ZIP64
        # field there is nothing else to use.
        return Zip64Values(file_size, compress_size, header_offset, disk_start)
    values = [file_size, compress_size, header_offset, disk_start]
    pos = 0
    for index, need in enumerate(needed):
        if not need:
            continue
        width = 4 if index == 3 else 8
        if pos + width > len(data):
            raise Zip64Error(
                "a ZIP64 extra field is shorter than the fields it must replace",
                offset=at,
                record="ZIP64 extra field",
            )
        values[index] = int.from_bytes(data[pos : pos + width], "little")
        pos += width
    return Zip64Values(*values)


def unicode_path(extra: bytes, raw_name: bytes) -> str | None:
    """4.6.9 Info-ZIP Unicode Path Extra Field (0x7075): the UTF-8 name, when it applies.

    It applies only when its CRC-32 matches the header's raw name; otherwise a tool renamed the
    entry without updating the field, and the raw name wins.
    """
    data = _find(extra, UNICODE_PATH_ID)
    if data is None or len(data) < 5 or data[0] != 1:
        return None
    (crc,) = struct.unpack_from("<L", data, 1)
    if crc != zlib.crc32(raw_name):
        return None
    try:
        return data[5:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def extended_mtime(extra: bytes) -> int | None:
    """4.5.5-like Info-ZIP extended timestamp (0x5455): the modification time, in Unix seconds."""
    data = _find(extra, EXTENDED_TIMESTAMP_ID)
    if data is None or len(data) < 5 or not data[0] & 1:
        return None
    (mtime,) = struct.unpack_from("<l", data, 1)
    return int(mtime)


@dataclass(frozen=True, slots=True)
class AesExtra:
    """WinZip AE-x extra field (0x9901): vendor version, key strength and the real method."""

    vendor_version: int
    strength: int
    method: int


def aes_extra(extra: bytes) -> AesExtra | None:
    """Parse the WinZip AES extra field, if present and well formed."""
    data = _find(extra, AES_HEADER_ID)
    if data is None or len(data) < 7:
        return None
    version, _vendor, strength, method = struct.unpack_from("<H2sBH", data, 0)
    return AesExtra(version, strength, method)
