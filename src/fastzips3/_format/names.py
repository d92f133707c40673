"""Entry names: CP437 / UTF-8 decoding (APPNOTE 4.4.4 bit 11, appendix D) and path safety."""

from __future__ import annotations

import re

__all__ = ["FLAG_UTF8", "decode_name", "unsafe_reason"]

FLAG_UTF8 = 0x800

_WINDOWS_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$")
_DRIVE = re.compile(r"^[A-Za-z]:")


def decode_name(raw: bytes, flags: int) -> str:
    """Decode a raw entry name: UTF-8 when flag bit 11 is set, CP437 otherwise.

    A name flagged UTF-8 that is not valid UTF-8 is decoded as CP437, so every name decodes and
    two different raw names never decode to the same text.
    """
    if raw.isascii():
        return raw.decode("ascii")  # the common case, and the same text in both encodings
    if flags & FLAG_UTF8:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            pass
    return raw.decode("cp437")


def unsafe_reason(name: str) -> str | None:
    """Why ``name`` may not be written below an extraction directory, or None if it may.

    Both ``/`` and ``\\`` count as separators, so a name that is safe here is safe on Windows too.
    """
    if not name or "\x00" in name:
        return "empty name or NUL byte"
    parts = re.split(r"[\\/]", name)
    if name.startswith(("/", "\\")):
        return "absolute path"
    if _DRIVE.match(name):
        return "drive letter"
    for part in parts:
        if part == "..":
            return "parent directory reference (..)"
        if _WINDOWS_RESERVED.match(part.rstrip(" .")):
            return f"Windows reserved name {part!r}"
    return None
